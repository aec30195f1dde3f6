"""Django model instances with valid field values, the setup of the view
tests: every concrete field gets a value its type and constraints accept
(max_length, decimal places, choices, unique), a foreign key points at an
instance created first; rendered as `Model.objects.create(...)`."""

import ast
import datetime
import decimal
import uuid

from ..naming import snake
from ..values import class_ref, literal_src


class Ref:
    """A foreign key's value: the object another step created."""

    def __init__(self, var):
        self.var = var

    def __repr__(self):
        return "Ref(%s)" % self.var


class Since:
    """A date-time relative to the moment the test runs (`timezone.now() +
    timedelta(hours=-1)`): "published recently" or "in the future" is what
    a model's own methods compare a date with, and a fixed date is only ever
    in the past."""

    def __init__(self, hours):
        self.hours = hours

    def __repr__(self):
        return "Since(%d)" % self.hours

    def __eq__(self, other):
        return isinstance(other, Since) and other.hours == self.hours

    def __hash__(self):
        return hash(("Since", self.hours))

    def build(self):
        from django.utils import timezone
        return timezone.now() + datetime.timedelta(hours=self.hours)


class Skip(Exception):
    """A field no generated value fits: the model is left out."""


def is_model(obj):
    try:
        from django.db import models
    except ImportError:
        return False
    return isinstance(obj, type) and issubclass(obj, models.Model) and not obj._meta.abstract


def models_in(node, namespace):
    """Model classes a view's source names (`Product`, `models.Product`)."""
    out = []
    for n in ast.walk(node) if node is not None else ():
        obj = None
        if isinstance(n, ast.Name):
            obj = namespace.get(n.id)
        elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name):
            obj = getattr(namespace.get(n.value.id), n.attr, None)
        if is_model(obj) and obj not in out:
            out.append(obj)
    return out


def with_related(models):
    """The models and those with a foreign key to one of them (`board.notes`)."""
    from django.apps import apps
    out = list(models)
    for m in apps.get_models():
        if m in out or m.__module__.startswith("django."):
            continue
        if any(f.is_relation and f.many_to_one and f.related_model in models for f in m._meta.concrete_fields):
            out.append(m)
    return out


_STRINGS = ["abc", "Alpha", "x", "a longer title", ""]


class ModelBuilder:
    """Creation steps ({'model', 'var', 'values'}) for model instances."""

    def __init__(self, rng, strings):
        self.rng = rng
        self.strings = [s for s in strings if isinstance(s, str)] + _STRINGS
        self.counter = 0

    def steps(self, model, base, made, depth=0):
        """Steps creating one `model` (parents first); `made` lists the
        steps already planned (a parent may be reused)."""
        if depth > 3:
            raise Skip("foreign keys nest too deep")
        out = []
        values = {}
        for f in model._meta.concrete_fields:
            kind = f.get_internal_type()
            if f.primary_key and kind in ("AutoField", "BigAutoField", "SmallAutoField"):
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                continue
            if f.is_relation:
                parent = f.related_model
                have = [s for s in made + out if s["model"] is parent]
                if f.null and not base and self.rng.random() < 0.2:
                    continue
                if have and (base or self.rng.random() < 0.7) and not f.unique:
                    values[f.name] = Ref(have[0 if base else self.rng.randrange(len(have))]["var"])
                    continue
                parents = self.steps(parent, base, made + out, depth + 1)
                out += parents
                values[f.name] = Ref(parents[-1]["var"])
                continue
            optional = f.has_default() or f.null or (f.blank and kind in ("CharField", "TextField"))
            if optional and (base or self.rng.random() < 0.3) and not (kind == "BooleanField" and not base):
                continue
            values[f.name] = self.value(f, kind, base)
        var = self._var(model, made + out)
        out.append({"model": model, "var": var, "values": values})
        return out

    def _var(self, model, steps):
        stem = snake(model.__name__) or "obj"
        names = {s["var"] for s in steps}
        var, n = stem, 2
        while var in names:
            var, n = "%s_%d" % (stem, n), n + 1
        return var

    def value(self, f, kind, base):
        rng = self.rng
        if f.choices:
            flat = [k for k, v in f.flatchoices]
            if flat:
                return flat[0] if base else flat[rng.randrange(len(flat))]
        if kind == "BooleanField":
            return True if base else rng.choice([True, False])
        if "IntegerField" in kind:
            pool = [1, 0, 2, 3, 5, 10, 100] + ([] if "Positive" in kind else [-1])
            return pool[0] if base else pool[rng.randrange(len(pool))]
        if kind == "FloatField":
            return 1.5 if base else rng.choice([0.0, 1.5, 2.0, 10.25])
        if kind == "DecimalField":
            places = f.decimal_places or 0
            whole = rng.choice([0, 1, 5, 20, 99]) if not base else 10
            whole = min(whole, 10 ** max(0, (f.max_digits or 6) - places) - 1)
            return decimal.Decimal(whole).quantize(decimal.Decimal(1).scaleb(-places))
        if kind == "DateTimeField":
            if not base and rng.random() < 0.5:
                return Since(rng.choice([-1, -48, 720]))
            from django.conf import settings
            tz = datetime.timezone.utc if getattr(settings, "USE_TZ", False) else None
            return datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=tz)
        if kind == "DateField":
            return datetime.date(2024, 1, 2)
        if kind == "UUIDField":
            self.counter += 1
            return uuid.UUID(int=self.counter)
        if kind == "JSONField":
            return {}
        if kind in ("CharField", "TextField", "SlugField", "EmailField", "URLField"):
            if kind == "EmailField":
                s = "user@example.com"
            elif kind == "URLField":
                s = "https://example.com/"
            else:
                pool = [s for s in self.strings if s or f.blank]
                s = pool[0] if base else pool[rng.randrange(len(pool))]
                if kind == "SlugField":
                    s = snake(s).replace("_", "-") or "slug"
            if f.unique:
                self.counter += 1
                s = "%s-%d" % (s or "u", self.counter)
            return s[:f.max_length] if f.max_length else s
        raise Skip("no value for %s %s.%s" % (kind, f.model.__name__, f.name))


def create(step, objects):
    """Runs one step; `objects` maps variables to created objects."""
    values = {k: objects[v.var] if isinstance(v, Ref) else v.build() if isinstance(v, Since) else v
              for k, v in step["values"].items()}
    obj = step["model"]._default_manager.create(**values)
    objects[step["var"]] = obj
    return obj


def value_src(v):
    """Source and imports of a field value."""
    if isinstance(v, Ref):
        return v.var, set()
    if isinstance(v, Since):
        return "timezone.now() + datetime.timedelta(hours=%d)" % v.hours, {
            "import datetime", "from django.utils import timezone"}
    if isinstance(v, decimal.Decimal):
        return "Decimal(%r)" % str(v), {"from decimal import Decimal"}
    if isinstance(v, datetime.datetime):
        tz = ", tzinfo=datetime.timezone.utc" if v.tzinfo is not None else ""
        return "datetime.datetime(%d, %d, %d, %d, %d, %d%s)" % (
            v.year, v.month, v.day, v.hour, v.minute, v.second, tz), {"import datetime"}
    if isinstance(v, datetime.date):
        return "datetime.date(%d, %d, %d)" % (v.year, v.month, v.day), {"import datetime"}
    if isinstance(v, uuid.UUID):
        return "uuid.UUID(%r)" % str(v), {"import uuid"}
    return literal_src(v), set()


def step_src(step):
    model = step["model"]
    ref = class_ref(model) or (model.__name__, None)
    args, imports = [], {ref[1]} if ref[1] else set()
    for k, v in step["values"].items():
        src, imps = value_src(v)
        args.append("%s=%s" % (k, src))
        imports |= imps
    manager = "objects" if hasattr(model, "objects") else "_default_manager"
    return "%s = %s.%s.create(%s)" % (step["var"], ref[0], manager, ", ".join(args)), imports


def field_state(obj):
    """The stored values of an object's concrete fields (None: deleted)."""
    model = type(obj)
    row = model._default_manager.filter(pk=obj.pk).values(*[f.attname for f in model._meta.concrete_fields]).first()
    return row


def field_changes(objects, before):
    """(var, field, new value) for each assertable field a call changed of
    the objects a test created; (var, None, None) for a deleted one.
    `before` holds each var's field_state before the call."""
    out = []
    for var, obj in objects.items():
        now = field_state(obj)
        if now is None:
            out.append((var, None, None))
            continue
        for f in type(obj)._meta.concrete_fields:
            old, new = before[var].get(f.attname), now.get(f.attname)
            if old != new and assertable(new) and not f.is_relation:
                out.append((var, f.attname, new))
    return out


def change_lines(steps, changes, body):
    """Appends to `body` the assertions of field_changes' result (refreshing
    each object once); returns the imports they need."""
    imports = set()
    for var, attr, new in changes:
        if attr is None:
            model = next(s["model"] for s in steps if s["var"] == var)
            body.append("assert not %s.objects.filter(pk=%s.pk).exists()" % (model.__name__, var))
            continue
        if "%s.refresh_from_db()" % var not in body:
            body.append("%s.refresh_from_db()" % var)
        src, imps = value_src(new)
        imports |= imps
        op = "is" if isinstance(new, bool) or new is None else "=="
        body.append("assert %s.%s %s %s" % (var, attr, op, src))
    return imports


def assertable(v):
    return v is None or isinstance(v, (bool, int, float, str, decimal.Decimal, datetime.date, uuid.UUID))
