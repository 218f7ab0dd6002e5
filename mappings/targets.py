"""What a mapping can write to: the canonical fields of schemas.Dossier, read from the pydantic model itself.

Nothing here is a hand-written copy of the schema: a field added to the model is mappable at once.
"""

from __future__ import annotations

import difflib
import enum
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from schemas.codes import ApplicantType, Channel, DossierStatus, IdType, ResultDelivery
from schemas.dossier import Dossier
from schemas.text_safety import TextClass

Kind = Literal["str", "int", "float", "bool", "datetime", "date", "enum", "literal", "model", "list", "other"]

# Fields the engine fills itself (identity, watermark, fix log) or the model derives: never mapped.
ENGINE_FIELDS = {
    "source": "set by the engine from the source's name",
    "source_record_id": "set by the engine from record.id",
    "source_updated_at": "set by the engine from record.updated_at",
    "text_fixes": "set by the engine from the text repairs it applied",
    "flags": "derived by the model",
    "on_time": "derived by the model from due_at and finished_at",
}
PRECISION_SUFFIX = "_precision"

# The canonical code sets a code table may translate to (`target:`); str/int for free translation tables.
CODE_TARGETS: dict[str, type] = {
    "status": DossierStatus,
    "channel": Channel,
    "result_delivery": ResultDelivery,
    "applicant_type": ApplicantType,
    "id_type": IdType,
    "str": str,
    "int": int,
}


@dataclass(frozen=True)
class Target:
    name: str
    kind: Kind
    required: bool
    annotation: Any  # the field's type with its constraints, for validating const/default at load
    enum: type[enum.IntEnum] | None = None
    model: type[BaseModel] | None = None  # for model fields and lists of models
    precision: str | None = None  # sibling `<name>_precision` field of a date, when the model has one
    text: Literal["free", "code"] | None = (
        None  # a text field's class (schemas.text_safety): free text or a code
    )
    max_length: int | None = None  # a text field's bound, in characters

    def check(self, value: Any) -> str | None:
        """Why `value` cannot be this field's canonical value, or None when it can."""
        try:
            _adapter(self.annotation).validate_python(value)
        except Exception as exc:  # pydantic ValidationError; its first line is enough
            errors = getattr(exc, "errors", None)
            return errors()[0]["msg"] if callable(errors) else str(exc)
        return None


@cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _strip(annotation: Any) -> Any:
    """X | None -> X; Annotated[X, ...] -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _text_class(annotation: Any, info: FieldInfo) -> tuple[Literal["free", "code"] | None, int | None]:
    """The FREE_TEXT/CODE marker and the max_length of a text field, wherever its Annotated layers put them."""
    found: list[Any] = list(info.metadata)
    stack = [annotation]
    while stack:
        a = stack.pop()
        origin = typing.get_origin(a)
        if origin is Annotated:
            base, *meta = typing.get_args(a)
            found.extend(meta)
            stack.append(base)
        elif origin in (typing.Union, types.UnionType):
            stack.extend(typing.get_args(a))
    text = next((m.name for m in found if isinstance(m, TextClass)), None)
    limits = [getattr(m, "max_length", None) for m in found]
    limits += [getattr(c, "max_length", None) for m in found for c in getattr(m, "metadata", ())]
    bounds = [n for n in limits if isinstance(n, int)]
    return text, min(bounds) if bounds else None


def _kind(annotation: Any) -> tuple[Kind, Any]:
    t = _strip(annotation)
    origin = typing.get_origin(t)
    if origin is list:
        (item,) = typing.get_args(t)
        item = _strip(item)
        return "list", item if isinstance(item, type) and issubclass(item, BaseModel) else None
    if origin is Literal:
        return "literal", None
    if isinstance(t, type):
        if issubclass(t, BaseModel):
            return "model", t
        if issubclass(t, enum.IntEnum):
            return "enum", t
        if issubclass(t, bool):
            return "bool", None
        if issubclass(t, datetime):
            return "datetime", None
        if issubclass(t, date):
            return "date", None
        for k, py in (("int", int), ("float", float), ("str", str)):
            if issubclass(t, py):
                return k, None  # type: ignore[return-value]
    return "other", None


@cache
def fields_of(model: type[BaseModel]) -> dict[str, Target]:
    out: dict[str, Target] = {}
    names = set(model.model_fields)
    for name, info in model.model_fields.items():
        kind, extra = _kind(info.annotation)
        precision = name + PRECISION_SUFFIX if kind == "date" and name + PRECISION_SUFFIX in names else None
        text, max_length = _text_class(info.annotation, info) if kind == "str" else (None, None)
        out[name] = Target(
            name=name,
            kind=kind,
            required=info.is_required(),
            annotation=_annotation(info),
            enum=extra if kind == "enum" else None,
            model=extra if kind in ("model", "list") else None,
            precision=precision,
            text=text,
            max_length=max_length,
        )
    return out


def _annotation(info: FieldInfo) -> Any:
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def resolve(model: type[BaseModel], dotted: str) -> Target:
    """The target named `dotted` under `model` (e.g. applicant.birth_date); LookupError saying why not."""
    parts = dotted.split(".")
    current: type[BaseModel] = model
    for i, part in enumerate(parts):
        fields = fields_of(current)
        target = fields.get(part)
        where = ".".join(parts[:i]) or current.__name__
        if target is None:
            close = difflib.get_close_matches(part, list(fields), n=3, cutoff=0.6)
            hint = f" (did you mean {' or '.join(close)}?)" if close else f" (fields: {', '.join(fields)})"
            raise LookupError(f"no field {part!r} in {where}{hint}")
        if i == len(parts) - 1:
            return target
        if target.kind == "list":
            raise LookupError(f"{'.'.join(parts[: i + 1])} is a list: map its items with `each`")
        if target.kind != "model" or target.model is None:
            raise LookupError(f"{'.'.join(parts[: i + 1])} is not a group of fields")
        current = target.model
    raise AssertionError("unreachable")


def inner_model(model: type[BaseModel] | None, name: str) -> type[BaseModel] | None:
    """The model of field `name` of `model` (a group, or a list's items); None when it is not one."""
    if model is None:
        return None
    target = fields_of(model).get(name)
    return target.model if target is not None else None


ROOT_MODEL = Dossier
