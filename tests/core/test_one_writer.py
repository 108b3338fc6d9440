"""The one-writer check itself (tests/writers.py): it must see a foreign write, and only that."""

from decimal import Decimal

import pytest

from apps.customers.models import Customer
from tests.factories import CustomerFactory
from tests.writers import APPS, Write, foreign


def run_as(module_path: str, source: str, **names):
    """Run `source` as if it were code of the module at apps/<module_path> (its frames say so)."""
    exec(compile(source, str(APPS / module_path), "exec"), names)  # noqa: S102


def test_a_module_writing_its_own_apps_model_is_not_foreign():
    assert foreign(Customer, ("apps.customers.services", 12), "update") is None


def test_a_module_writing_another_apps_model_is_foreign():
    write = foreign(Customer, ("apps.promises.services", 129), "update")
    assert write == Write("update", "customers.Customer", "apps.promises.services", 129)
    assert str(write) == "apps.promises.services:129 updates customers.Customer"


def test_the_seeder_and_tests_may_write_anything():
    assert foreign(Customer, ("apps.demo.seed", 40), "insert") is None
    assert foreign(Customer, None, "insert") is None


@pytest.mark.django_db
def test_every_kind_of_write_from_another_app_is_caught(write_log):
    customer = CustomerFactory(balance=Decimal("100.00"))
    assert write_log.take() == []  # the factory is the test's own write

    run_as(
        "promises/elsewhere.py",
        "Customer.objects.filter(pk=pk).update(balance=0)\n"
        "row = Customer.objects.get(pk=pk); row.days_overdue = 3; row.save()\n"
        "Customer.objects.create(name='New', phone='+14155550999', account_number='ACC9')\n"
        "Customer.objects.filter(account_number='ACC9').delete()\n",
        Customer=Customer,
        pk=customer.pk,
    )

    seen = [(w.action, w.model, w.module) for w in write_log.take()]
    assert seen == [
        ("update", "customers.Customer", "apps.promises.elsewhere"),
        ("update", "customers.Customer", "apps.promises.elsewhere"),
        ("insert", "customers.Customer", "apps.promises.elsewhere"),
        ("delete", "customers.Customer", "apps.promises.elsewhere"),
    ]
    assert write_log.take() == []


@pytest.mark.django_db
def test_a_write_by_the_models_own_app_is_not_recorded(write_log):
    customer = CustomerFactory()
    run_as(
        "customers/elsewhere.py",
        "Customer.objects.filter(pk=pk).update(days_overdue=7)\n",
        Customer=Customer,
        pk=customer.pk,
    )
    assert write_log.take() == []
    assert Customer.objects.get(pk=customer.pk).days_overdue == 7
