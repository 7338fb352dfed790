"""GitHub's REST API, for the one thing roleSync asks of it: the review comment on a pull
request (`rolesync pr-comment`), created once and updated by later pushes.

Modules: comment_body (pure: the marker, the body, truncation to GitHub's limit),
context (where the workflow says the repository, the pull request and the token are),
api (the requests client, its retry decisions and its one-line errors), upsert (find
the marked comment and update it, or create it).
"""
