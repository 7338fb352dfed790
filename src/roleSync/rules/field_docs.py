"""Field descriptions from attribute docstrings, read when the reference is generated.

The rule-file models document each field with the string under it:

    window_days: int = 365
    \"\"\"Days of history the metrics look at.\"\"\"

pydantic can read these itself (`use_attribute_docstrings`), but it does so for every
model at import, from each class's source: about 20 ms on every `rolesync check`, for
descriptions that only `rolesync schema` (schema.json, docs/rule-files.md) shows. So
they are read here, when a JSON Schema or the reference is generated, the same way
(the string right after an annotated assignment, cleaned as `inspect.cleandoc` does).
The rule models derive from `DescribedModel`, whose `model_json_schema` adds them.
"""

from __future__ import annotations

import ast
import inspect
import sys
from functools import cache
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict

from roleSync.rules.resolved import resolved_fields


@cache
def _module_classes(module: str) -> dict[str, ast.ClassDef]:
    tree = ast.parse(inspect.getsource(sys.modules[module]))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _class_docs(cls: type) -> dict[str, str]:
    node = _module_classes(cls.__module__).get(cls.__qualname__)
    docs: dict[str, str] = {}
    previous: ast.stmt | None = None
    for stmt in node.body if node else []:
        if (
            isinstance(previous, ast.AnnAssign)
            and isinstance(previous.target, ast.Name)
            and isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ):
            docs[previous.target.id] = inspect.cleandoc(stmt.value.value)
        previous = stmt
    return docs


def field_docs(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> its docstring, inherited fields included (the nearest class wins)."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if issubclass(cls, BaseModel) and cls is not BaseModel:
            docs.update(_class_docs(cls))
    return {name: text for name, text in docs.items() if name in model.model_fields}


def description(model: type[BaseModel], name: str) -> str | None:
    """The field's description: given in `Field(description=...)`, else its docstring."""
    return resolved_fields(model)[name].description or field_docs(model).get(name)


def _models_in(model: type[BaseModel], seen: dict[str, type[BaseModel]]) -> None:
    if model.__name__ in seen:
        return
    seen[model.__name__] = model
    stack: list[Any] = [info.annotation for info in resolved_fields(model).values()]
    while stack:
        hint = stack.pop()
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            _models_in(hint, seen)
        stack.extend(get_args(hint))


class DescribedModel(BaseModel):
    """A model whose JSON Schema carries its fields' docstrings as descriptions, as with
    pydantic's `use_attribute_docstrings`, read only when a schema is asked for."""

    model_config = ConfigDict(defer_build=True)  # a base: never validates anything itself

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        schema = super().model_json_schema(*args, **kwargs)
        models: dict[str, type[BaseModel]] = {}
        _models_in(cls, models)
        defs = schema.get("$defs", {})
        for name, model in models.items():
            target = schema if model is cls else defs.get(name, {})
            properties = target.get("properties", {})
            for field, info in resolved_fields(model).items():
                text = description(model, field)
                prop = properties.get(info.alias or field)
                if text and isinstance(prop, dict) and "description" not in prop:
                    prop["description"] = text
        return schema
