"""Logging in through the test client, as a user does: an application's
registration and login routes are the ones that take a user name (or
e-mail) and a password; a test registers one account, logs in with it, and
then requests the views behind a `login_required`. The session cookie the
login sets stays in the test client."""

import re

_PASSWORD = re.compile(r"pass(word)?|passwd|pwd", re.I)
_USER = re.compile(r"user|e?mail|login|name|account|handle", re.I)
_LOGIN = re.compile(r"log_?in|sign_?in|authenticate|session|token", re.I)
_REGISTER = re.compile(r"register|sign_?up|join|create_?(user|account)|new_?(user|account)|^/?users?/?$", re.I)

USER = "testgen"
EMAIL = "testgen@example.com"
PASSWORD = "Testgen-pass-1"


def credential(name):
    """The account's value for a field named `name`, or None when the field
    is no credential."""
    if not name:
        return None
    if _PASSWORD.search(name):
        return PASSWORD
    low = name.lower()
    if "mail" in low:
        return EMAIL
    if low in ("user", "username", "user_name", "login", "name", "handle", "account"):
        return USER
    return None


def _fields(spec):
    names = [f[0] for f in spec.form]
    facts = spec.json_facts
    if facts is not None and spec.json_var:
        names += list(facts.keys.get(spec.json_var, {}))
    return names


def _takes_credentials(spec):
    names = _fields(spec)
    return ("POST" in spec.methods and any(_PASSWORD.search(n) for n in names)
            and any(credential(n) in (USER, EMAIL) for n in names))


class Auth:
    """The registration and login routes of an application, if it has them."""

    def __init__(self, specs):
        forms = [s for s in specs if _takes_credentials(s)]
        named = lambda pattern: [s for s in forms if pattern.search(s.view_name) or pattern.search(s.template)]
        self.login = next(iter(named(_LOGIN)), None)
        self.register = next((s for s in named(_REGISTER) if s is not self.login), None)

    def prelude(self, draw):
        """The requests that register the account and log in with it:
        [(spec, request)], empty without a login route."""
        if self.login is None:
            return []
        steps = [(s, draw(s, base=True, method="POST")) for s in (self.register, self.login) if s is not None]
        return steps
