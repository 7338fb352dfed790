"""People's names both emulators' seeds start from (one with an apostrophe, for quoting).

Each seed appends names of its own. The order is part of the seeded data (a seed picks
by index or by a seeded random choice), so a change here changes every seeded record.
"""

FIRST_NAMES = ("Ana", "Ben", "Carla", "Dev", "Elif", "Farid", "Gita", "Hank", "Ines", "Jon",
               "Kira", "Luis", "Mei", "Nils", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tara",
               "Uma")  # fmt: skip
LAST_NAMES = ("Abbott", "Brennan", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad",
              "Ito", "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura")  # fmt: skip
