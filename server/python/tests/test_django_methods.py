"""A Django model's own methods are explored on objects saved with valid
field values, never on an empty unsaved instance (issue 20). Django sets up
once per process, so the exploration runs in a child interpreter over a small
project shaped like the tutorial's polls app."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("django")

MODELS = '''
import datetime

from django.db import models
from django.utils import timezone


class Question(models.Model):
    question_text = models.CharField(max_length=200)
    pub_date = models.DateTimeField("date published")

    def was_published_recently(self):
        now = timezone.now()
        return now - datetime.timedelta(days=1) <= self.pub_date <= now

    def __str__(self):
        return self.question_text


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE)
    choice_text = models.CharField(max_length=200)
    votes = models.IntegerField(default=0)

    def __str__(self):
        return self.choice_text
'''

SETTINGS = '''
SECRET_KEY = "x"
INSTALLED_APPS = ["polls", "django.contrib.auth", "django.contrib.contenttypes"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
'''

CHILD = '''
import json, os, sys
sys.path.insert(0, sys.argv[1])
root = sys.argv[2]
sys.path.insert(0, root)
from conftest import RULES
from testgen_explore.context import Context
from testgen_explore.frameworks.djangounits import django_unit_explorer
from testgen_explore.rules import Rules
from testgen_explore.safety import Guard

guard = Guard()
guard.install()
ctx = Context(root, Rules(dict(RULES)), sys_path=[root], seed=0)
ctx.guard = guard
path = os.path.join(root, "polls", "models.py")
lines = open(path).read().splitlines()
out = {}
for qual in sys.argv[3:]:
    cls, name = qual.split(".")
    start = next(i for i, ln in enumerate(lines, 1) if ln.startswith("class %s(" % cls))
    start = next(i for i, ln in enumerate(lines, 1) if i > start and ln.strip().startswith("def %s(" % name))
    req = {"op": "explore", "id": 1, "target": {"file": path, "module": "polls.models", "qualname": qual,
           "kind": "method", "line": start, "end_line": start + 2},
           "budget_s": 30.0, "max_calls": 60, "call_timeout_s": 5.0, "seed": 0, "allow_unsafe": False}
    explorer = django_unit_explorer(ctx, req)
    answer = explorer.explore()
    out[qual] = {"explorer": type(explorer).__name__, "tests": [t["source"] for t in answer.get("tests", [])],
                 "reason": answer.get("reason")}
with open(os.path.join(root, "out.json"), "w") as f:
    json.dump(out, f)
'''


def test_model_methods_run_on_saved_objects_with_valid_fields(tmp_path):
    for name, text in {"polls/__init__.py": "", "polls/models.py": MODELS, "mysite/__init__.py": "",
                       "mysite/settings.py": SETTINGS}.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="mysite.settings", PYTHONPATH=here)
    run = subprocess.run([sys.executable, "-c", CHILD, os.path.dirname(here), str(tmp_path),
                          "Question.was_published_recently", "Choice.__str__"],
                         capture_output=True, text=True, timeout=120, env=env, cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    recent = out["Question.was_published_recently"]
    assert recent["explorer"] == "ModelMethodExplorer", out
    src = "\n".join(recent["tests"])
    assert "question = Question.objects.create(question_text=" in src, src
    assert "Question()" not in src and "pytest.raises" not in src, src
    assert "question.was_published_recently() is " in src, src
    choice = "\n".join(out["Choice.__str__"]["tests"])
    # the foreign key points at a question created first
    assert "choice = Choice.objects.create(question=question, choice_text=" in choice, choice
    assert "assert choice.__str__() == " in choice, choice
