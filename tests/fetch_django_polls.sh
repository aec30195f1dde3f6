#!/usr/bin/env bash
# A Django application written by others for issue 20's Django benchmark:
# the polls app of Django's tutorial as one learner packaged it for PyPI
# (django-bay-polls 0.1, BSD License): models with a foreign key, generic
# ListView/DetailView views, a vote view posting a form, admin with inlines,
# templates. Fetched, not committed, so the code stays its author's. Its
# tests.py stays: its views import a helper from it (pytest does not
# collect `tests.py`, so the project starts with no tests). The project
# around it is ours, as `django-admin startproject mysite` writes it
# (settings, urls with the app at polls/ and the admin, manage.py).
#   bash tests/fetch_django_polls.sh DEST     (idempotent)
set -euo pipefail
DEST="$1"
VERSION=0.1
[ -f "$DEST/polls/views.py" ] && exit 0
PY="${PYTHON:-python3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$PY" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$tmp" "django-bay-polls==$VERSION"
tar xzf "$tmp/django-bay-polls-$VERSION.tar.gz" -C "$tmp"
rm -rf "$DEST"
mkdir -p "$DEST/mysite"
cp -r "$tmp/django-bay-polls-$VERSION/polls" "$DEST/polls"
cp "$tmp/django-bay-polls-$VERSION/LICENSE" "$DEST/polls/LICENSE"
cat >"$DEST/requirements.txt" <<'REQ'
django>=4.2
REQ
cat >"$DEST/manage.py" <<'PY'
#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
PY
touch "$DEST/mysite/__init__.py"
cat >"$DEST/mysite/urls.py" <<'PY'
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("polls/", include("polls.urls")),
    path("admin/", admin.site.urls),
]
PY
cat >"$DEST/mysite/settings.py" <<'PY'
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "django-insecure-tutorial"
DEBUG = True
ALLOWED_HOSTS = []
INSTALLED_APPS = [
    "polls.apps.PollsConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "mysite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PY
