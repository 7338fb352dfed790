"""A model's fields with their types resolved, for code that walks the rule models.

The rule models are built on first use (`defer_build`: building every model at import
cost each `rolesync check` tens of milliseconds). Until a model is built, a field that
names a model defined later in its module (`Condition` in `all`/`any`/`not`, `Route` in
a handoff's `routes`) holds a forward reference, not the type; walking code (did-you-mean,
`fmt`'s key order, the reference) asks for the fields here, which builds the model first.
"""

from __future__ import annotations

from pydantic import BaseModel
from pydantic.fields import FieldInfo


def resolved_fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    if not model.__pydantic_complete__:
        model.model_rebuild()
    return model.model_fields
