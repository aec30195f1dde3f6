"""Django pieces that need no configured Django: which manage.py main() is
the conventional one, the test client's host added to ALLOWED_HOSTS, the
parameters an admin method is called with, the strings a form's clean method
is fed."""

import ast

from testgen_explore.frameworks.django import allow_test_client
from testgen_explore.frameworks.djangounits import _admin_params, _strings, _variants, is_manage_main
from testgen_explore.templates import django_conftest_source

MANAGE = '''import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
'''


def test_conventional_manage_py_main_is_recognised():
    assert is_manage_main(ast.parse(MANAGE))


def test_a_main_running_its_own_command_is_not():
    other = MANAGE.replace("execute_from_command_line(sys.argv)", "execute_from_command_line(['x', 'flush'])")
    assert not is_manage_main(ast.parse(other))
    no_settings = MANAGE.replace('os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")', "pass")
    assert not is_manage_main(ast.parse(no_settings))
    assert not is_manage_main(ast.parse("def run():\n    pass\n"))


class FakeSettings:
    def __init__(self, hosts):
        self.ALLOWED_HOSTS = hosts


def test_testserver_is_added_once_and_never_beside_a_wildcard():
    s = FakeSettings(["shop.example.com"])
    allow_test_client(s)
    assert s.ALLOWED_HOSTS == ["shop.example.com", "testserver"]
    allow_test_client(s)
    assert s.ALLOWED_HOSTS == ["shop.example.com", "testserver"]
    star = FakeSettings(["*"])
    allow_test_client(star)
    assert star.ALLOWED_HOSTS == ["*"]


def test_generated_django_conftest_allows_the_test_client_host():
    src = django_conftest_source("mysite.settings")
    compile(src, "conftest.py", "exec")
    assert '"testserver"' in src and "ALLOWED_HOSTS" in src


def test_admin_methods_taking_request_queryset_or_obj_only():
    def deactivate(self, request, queryset):
        pass

    def shown(self, obj):
        pass

    def change_view(self, request, object_id, form_url="", extra_context=None):
        pass

    def has_delete_permission(self, request, obj=None):
        pass

    assert _admin_params(deactivate) == ["request", "queryset"]
    assert _admin_params(shown) == ["obj"]
    assert _admin_params(change_view) is None
    assert _admin_params(has_delete_permission) == ["request", "obj"]


def test_clean_method_strings_come_from_the_body_not_the_decorators():
    node = ast.parse('@admin.action(description="Deactivate")\ndef clean_name(self):\n'
                     '    if self.cleaned_data["name"].lower() in {"test", "dummy"}:\n        raise E("x")\n').body[0]
    strings = _strings(node)
    assert "Deactivate" not in strings and {"test", "dummy", "name"} <= set(strings)
    assert _variants(["test"]) == ["test", "TEST", "  test ", "Test"]
