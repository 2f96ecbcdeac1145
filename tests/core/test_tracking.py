"""Tracking codes: the S10 algorithm, serial ranges that never repeat (also under concurrent
confirms in threads and processes), the carrier registry, and the confirm hook."""

from __future__ import annotations

import multiprocessing
import threading
from importlib.metadata import entry_points

import pytest

from core import s10
from core.carriers import ENTRY_POINT_GROUP, S10Backend, get_carrier, register_carrier
from core.db import Database
from core.errors import Conflict, Forbidden, ValidationFailed
from core.principal import SYSTEM
from core.tracking import TrackingCodesRequired, assign_tracking_codes
from core.tracking_ranges import (
    DEFAULT_BLOCK,
    TrackingRangeExhausted,
    allocate_serials,
    configure_tracking,
    tracking_configuration,
)
from tests import factories
from tests.documents import builders

# --- S10 ------------------------------------------------------------------------------------


def test_check_digit_of_the_upu_worked_example():
    # S10 worked example: 4*8+7*6+3*4+1*2+2*3+4*5+8*9+2*7 = 200; 200 mod 11 = 2; 11-2 = 9
    assert s10.check_digit(47312482) == 9
    assert s10.format_code("RR", 47312482, "GB") == "RR473124829GB"


def test_check_digit_of_a_known_good_code():
    assert s10.check_digit("12345678") == 5
    assert s10.is_valid("RR123456785FI")


def test_remainder_cases_map_10_to_0_and_11_to_5():
    # 00000001: 1*7 = 7, 11 - 7 = 4
    assert s10.check_digit(1) == 4
    # 00000000: sum 0, 11 - 0 = 11, which becomes 5
    assert s10.check_digit(0) == 5
    # 00000100: 1*5 = 5, 11 - 5 = 6; 00000006: 6*7 = 42, 42 mod 11 = 9, 11 - 9 = 2
    assert s10.check_digit(100) == 6 and s10.check_digit(6) == 2
    # 00000003: 3*7 = 21, 21 mod 11 = 10, 11 - 10 = 1; 00000002: 14 mod 11 = 3 -> 8
    assert s10.check_digit(3) == 1 and s10.check_digit(2) == 8
    # 00000008: 8*7 = 56, 56 mod 11 = 1, 11 - 1 = 10, which becomes 0
    assert s10.check_digit(8) == 0


def test_is_valid_rejects_a_wrong_check_digit_or_shape():
    assert not s10.is_valid("RR123456784FI")
    assert not s10.is_valid("RR12345678FI")
    assert not s10.is_valid("rr123456785fi")


def test_format_code_refuses_bad_parts():
    with pytest.raises(ValueError):
        s10.format_code("J1", 1)
    with pytest.raises(ValueError):
        s10.format_code("JJ", 100_000_000)


# --- ranges ---------------------------------------------------------------------------------


def test_configured_range_issues_consecutive_valid_codes(session):
    supplier = builders.new_supplier(session)
    configure_tracking(session, factories.acting(supplier), service_indicator="JK",
                       range_start=500, range_end=599)
    codes = S10Backend().issue_codes(session, supplier.id, 3)
    assert codes == [s10.format_code("JK", n) for n in (500, 501, 502)]
    assert all(s10.is_valid(c) and c.endswith("FI") for c in codes)
    assert tracking_configuration(session, supplier.id).remaining == 97


def test_exhausted_range_raises_and_takes_nothing(session):
    supplier = builders.new_supplier(session)
    configure_tracking(session, factories.acting(supplier), range_start=10, range_end=12)
    allocate_serials(session, supplier.id, 2)
    with pytest.raises(TrackingRangeExhausted, match="1 codes left, 2 needed"):
        allocate_serials(session, supplier.id, 2)
    assert allocate_serials(session, supplier.id, 1)[2] == [12]


def test_ranges_of_two_suppliers_may_not_overlap(session):
    first, second = builders.new_supplier(session), builders.new_supplier(session)
    configure_tracking(session, factories.acting(first), range_start=1000, range_end=1999)
    with pytest.raises(Conflict):
        configure_tracking(session, factories.acting(second), range_start=1500, range_end=2500)
    # another service indicator is another number space
    configure_tracking(session, factories.acting(second), service_indicator="JX",
                       range_start=1500, range_end=2500)


def test_replacing_a_range_never_reissues_its_serials(session):
    supplier = builders.new_supplier(session)
    actor = factories.acting(supplier)
    configure_tracking(session, actor, range_start=100, range_end=199)
    allocate_serials(session, supplier.id, 5)  # 100..104 issued
    with pytest.raises(Conflict):
        configure_tracking(session, actor, range_start=50, range_end=102)
    configure_tracking(session, actor, range_start=105, range_end=300)  # the unissued rest
    assert allocate_serials(session, supplier.id, 1)[2] == [105]
    # the retired range's unissued serials are free for someone else, its issued ones are not
    other = factories.acting(builders.new_supplier(session))
    with pytest.raises(Conflict):
        configure_tracking(session, other, range_start=90, range_end=100)


def test_extending_the_live_range_keeps_its_position(session):
    supplier = builders.new_supplier(session)
    actor = factories.acting(supplier)
    configure_tracking(session, actor, range_start=10, range_end=11)
    allocate_serials(session, supplier.id, 2)
    configure_tracking(session, actor, range_start=10, range_end=20)
    assert allocate_serials(session, supplier.id, 1)[2] == [12]


def test_a_supplier_without_a_range_claims_the_next_default_block(session):
    first, second = builders.new_supplier(session), builders.new_supplier(session)
    assert allocate_serials(session, first.id, 1)[2] == [DEFAULT_BLOCK]
    assert allocate_serials(session, second.id, 1)[2] == [2 * DEFAULT_BLOCK]
    assert allocate_serials(session, first.id, 1)[2] == [DEFAULT_BLOCK + 1]


def test_configuration_is_checked(session):
    supplier = builders.new_supplier(session)
    actor = factories.acting(supplier)
    with pytest.raises(ValidationFailed) as failure:
        configure_tracking(session, actor, mode="post", carrier="nope", service_indicator="J",
                           range_start=5)
    fields = {e["field"] for e in failure.value.errors}
    assert fields == {"mode", "carrier", "serviceIndicator", "rangeEnd"}
    with pytest.raises(Forbidden):
        configure_tracking(session, factories.acting(builders.new_retailer(session)),
                           mode="own")


# --- concurrency ----------------------------------------------------------------------------


def test_twenty_threads_never_get_the_same_code(db):
    with db.transaction() as session:
        supplier = builders.new_supplier(session)
        configure_tracking(session, SYSTEM, supplier_id=supplier.id, range_start=1,
                           range_end=10_000)
        supplier_id = supplier.id
    codes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def confirm_many() -> None:
        try:
            start.wait()
            for _ in range(5):
                with db.transaction() as session:
                    issued = S10Backend().issue_codes(session, supplier_id, 3)
                with lock:
                    codes.extend(issued)
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    threads = [threading.Thread(target=confirm_many) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(codes) == 300 and len(set(codes)) == 300
    assert all(s10.is_valid(c) for c in codes)


def _worker(url: str, supplier_id: int, batches: int, batch: int, queue) -> None:  # noqa: ANN001
    database = Database(url)
    issued = []
    try:
        for _ in range(batches):
            with database.transaction() as session:
                issued.extend(S10Backend().issue_codes(session, supplier_id, batch))
    finally:
        database.dispose()
    queue.put(issued)


def test_ten_thousand_codes_from_eight_processes_contain_no_duplicate(db, database_url):
    with db.transaction() as session:
        supplier = builders.new_supplier(session)
        supplier_id = supplier.id
    # fork: the workers need nothing but this module's code, and each opens its own engine
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_worker, args=(database_url, supplier_id, 25, 50, queue))
               for _ in range(8)]
    for w in workers:
        w.start()
    codes = [code for _ in workers for code in queue.get(timeout=120)]
    for w in workers:
        w.join(timeout=30)
    assert [w.exitcode for w in workers] == [0] * 8
    assert len(codes) == 10_000 and len(set(codes)) == 10_000
    assert all(s10.is_valid(c) for c in codes)


# --- the confirm hook -----------------------------------------------------------------------


def test_confirm_gives_each_carrying_parcel_one_code(session):
    shipment = builders.shipment(session, rows=[("A", 1, 1, "1"), ("B", 1, 1, "1"),
                                                ("C", 1, 0, "1")], parcels=3)
    codes = [p.tracking_codes for p in shipment.parcels]
    assert [len(c) for c in codes] == [1, 1, 0]  # parcel 3 carries only an undelivered row
    assert all(s10.is_valid(c[0]) for c in codes[:2])
    assert [p.tracking_source for p in shipment.parcels][:2] == ["glue", "glue"]


def test_confirm_keeps_the_suppliers_own_codes(session):
    shipment = builders.shipment(session, own_codes=True)
    assert shipment.parcels[0].tracking_codes[0].startswith("OWN")
    assert shipment.parcels[0].tracking_source == "own"


def test_own_codes_mode_refuses_a_parcel_without_a_code(session):
    supplier = builders.new_supplier(session)
    configure_tracking(session, factories.acting(supplier), mode="own")
    with pytest.raises(TrackingCodesRequired) as failure:
        builders.shipment(session, supplier=supplier, parcels=2,
                          rows=[("A", 1, 1, "1"), ("B", 1, 1, "1")])
    assert [e["index"] for e in failure.value.errors] == ["1", "2"]


def test_assigning_twice_issues_nothing_new(session):
    shipment = builders.shipment(session)
    before = list(shipment.parcels[0].tracking_codes)
    assign_tracking_codes(session, shipment)
    assert shipment.parcels[0].tracking_codes == before


# --- the registry ---------------------------------------------------------------------------


def test_builtin_backend_is_published_as_an_entry_point():
    found = {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert found["s10"] is S10Backend
    assert isinstance(get_carrier("s10"), S10Backend)


def test_a_registered_backend_is_used_for_its_suppliers(session):
    class Fixed(S10Backend):
        name = "fixed-test"

        def issue_codes(self, session, supplier_id, count):  # noqa: ANN001, ANN201
            return [f"FIX{i}" for i in range(count)]

    register_carrier(Fixed())
    supplier = builders.new_supplier(session)
    configure_tracking(session, factories.acting(supplier), carrier="fixed-test")
    shipment = builders.shipment(session, supplier=supplier)
    assert shipment.parcels[0].tracking_codes == ["FIX0"]
    assert get_carrier("s10").tracking_url("JJ1").endswith("JJ1")
