"""Finding people for the console, on real databases: search, filters, keyset pages, export.

Also adding one person by hand (double opt-in, or "already consented" with a
reason), the person's record, and erasure as the subscriber pages use them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.app import App
from newsletter.audience import directory
from newsletter.audience.adding import AddOutcome, AddRefused, add_person
from newsletter.audience.addresses import AddressError
from newsletter.audience.csv_files import import_csv
from newsletter.audience.directory import FilterError, Filters, PageKey
from newsletter.audience.profile import person_profile
from newsletter.audience.staff import erase_subscriber
from newsletter.audience.unsubscribe import withdraw_everything
from newsletter.db.engine import write_transaction
from newsletter.db.models import (
    ConsentRecord,
    FeedbackEvent,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.errors import NotFoundError
from tests.support import project as builder
from tests.support.audience import NewPerson, insert_people
from tests.support.signup import outbox

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
OTHER_LIST = "pain-school"


@pytest.fixture(autouse=True)
def lists(project: Path) -> None:
    builder.write_lists(
        project,
        builder.ListSpec("clinic-news", "Riverside Clinic News"),
        builder.ListSpec(OTHER_LIST, "Pain School", double_opt_in=False),
    )


def list_id(app: App, slug: str = "clinic-news") -> int:
    return app.catalog.find_list(slug).id


def people(app: App, names: list[str], *, at: datetime, slug: str = "clinic-news",
           status: str = "active") -> list[int]:
    target = list_id(app, slug)
    with write_transaction(app.sessions) as session:
        return insert_people(session, target, [
            NewPerson(f"{name.lower().replace(' ', '.')}@example.org", name=name)
            for name in names], at=at, status=status)


def also_on(app: App, email: str, slug: str, status: str) -> None:
    """Give an existing person a second subscription."""
    target = list_id(app, slug)
    with write_transaction(app.sessions) as session:
        person = session.scalar(select(Subscriber.id).where(Subscriber.email == email))
        assert person is not None
        session.add(Subscription(subscriber_id=person, list_id=target, status=status,
                                 created_at=START, updated_at=START))


def walk_forward(app: App, filters: Filters, size: int) -> list[list[str]]:
    pages: list[list[str]] = []
    after: PageKey | None = None
    while True:
        found = directory.find_people(app, filters, after=after, size=size)
        pages.append([row.email for row in found.people])
        if found.next_key is None:
            return pages
        after = directory.decode_key(found.next_key)


def test_pages_show_everyone_once_newest_first_even_when_many_joined_in_the_same_instant(
    app: App,
) -> None:
    people(app, [f"Early {n}" for n in range(4)], at=START)
    tied = people(app, [f"Tied {n}" for n in range(11)], at=START + timedelta(days=1))
    people(app, [f"Late {n}" for n in range(3)], at=START + timedelta(days=2))
    pages = walk_forward(app, Filters(), size=5)
    flat = [email for page in pages for email in page]
    assert len(flat) == 18 == len(set(flat))
    assert [len(page) for page in pages] == [5, 5, 5, 3]
    assert flat[:3] == [f"late.{n}@example.org" for n in (2, 1, 0)]  # ties: newest id first
    assert flat[3:14] == [f"tied.{n}@example.org" for n in range(10, -1, -1)]
    assert len(tied) == 11
    # Backwards from the last page gives the same pages, in reverse.
    last = directory.find_people(app, Filters(), after=directory.decode_key(
        directory.find_people(app, Filters(), size=15).next_key or ""), size=5)
    assert [row.email for row in last.people] == pages[3]
    back: list[list[str]] = []
    key = last.previous_key
    while key is not None:
        found = directory.find_people(app, Filters(), before=directory.decode_key(key), size=5)
        back.append([row.email for row in found.people])
        key = found.previous_key
    assert back == [pages[2], pages[1], pages[0]]


def test_the_first_page_has_no_previous_link_and_the_last_no_next(app: App) -> None:
    people(app, ["Only One", "Only Two"], at=START)
    found = directory.find_people(app, Filters(), size=5)
    assert (found.previous_key, found.next_key, found.total) == (None, None, 2)


def test_search_finds_part_of_an_address_or_a_name_whatever_the_case(app: App) -> None:
    people(app, ["Ana Lima", "Bea Sousa", "Carla Limão"], at=START)
    assert emails(app, Filters(query="LIMA")) == ["ana.lima@example.org"]
    assert emails(app, Filters(query="sousa@example")) == ["bea.sousa@example.org"]
    assert emails(app, Filters(query="limão")) == ["carla.limão@example.org"]
    assert emails(app, Filters(query="nobody")) == []


def test_percent_and_underscore_in_a_search_are_plain_characters(app: App) -> None:
    people(app, ["Ana Lima", "Dan_Ortiz"], at=START)
    assert emails(app, Filters(query="%")) == []
    assert emails(app, Filters(query="_")) == ["dan_ortiz@example.org"]


def emails(app: App, filters: Filters) -> list[str]:
    return sorted(row.email for row in directory.find_people(app, filters, size=100).people)


def test_list_and_status_filters_look_at_the_same_subscription(app: App) -> None:
    people(app, ["Ana Lima"], at=START)
    also_on(app, "ana.lima@example.org", OTHER_LIST, "unsubscribed")
    people(app, ["Bea Sousa"], at=START, slug=OTHER_LIST)
    people(app, ["Cid Pending"], at=START, status="pending")
    assert emails(app, Filters(list_slug=OTHER_LIST)) == [
        "ana.lima@example.org", "bea.sousa@example.org"]
    assert emails(app, Filters(list_slug=OTHER_LIST, status="unsubscribed")) == [
        "ana.lima@example.org"]
    assert emails(app, Filters(list_slug=OTHER_LIST, status="pending")) == []
    assert emails(app, Filters(status="pending")) == ["cid.pending@example.org"]
    row = directory.find_people(app, Filters(query="ana")).people[0]
    assert sorted(row.subscriptions) == [("clinic-news", "active"), (OTHER_LIST, "unsubscribed")]


def test_joined_dates_are_whole_days_both_ends_included(app: App) -> None:
    people(app, ["Day One"], at=datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    people(app, ["Day Two"], at=datetime(2026, 11, 2, 23, 59, 59, tzinfo=UTC))
    people(app, ["Day Three"], at=datetime(2026, 11, 3, 0, 0, tzinfo=UTC))
    assert emails(app, Filters(joined_from=date(2026, 11, 2))) == [
        "day.three@example.org", "day.two@example.org"]
    assert emails(app, Filters(joined_to=date(2026, 11, 2))) == [
        "day.one@example.org", "day.two@example.org"]
    assert emails(app, Filters(joined_from=date(2026, 11, 2), joined_to=date(2026, 11, 2))) == [
        "day.two@example.org"]


def test_bad_filters_and_damaged_page_links_are_named() -> None:
    with pytest.raises(FilterError, match="no list 'nope'"):
        directory.clean_filters(list_slug="nope", known_lists=["clinic-news"])
    with pytest.raises(FilterError, match="unknown status 'gone'"):
        directory.clean_filters(status="gone")
    with pytest.raises(FilterError, match="'2026-13-01' is not a date"):
        directory.clean_filters(joined_from="2026-13-01")
    with pytest.raises(FilterError, match="before 'joined from'"):
        directory.clean_filters(joined_from="2026-11-02", joined_to="2026-11-01")
    with pytest.raises(FilterError, match="damaged"):
        directory.decode_key("2026-11-01T00:00:00_x")
    with pytest.raises(FilterError, match="damaged"):
        directory.decode_key("2026-11-01T00:00:00_4")  # no zone: not one of ours
    assert directory.clean_filters(query="  ＡＮＡ ").query == "ANA"


def test_erased_people_appear_only_as_erase_dates(app: App, clock: object) -> None:
    people(app, ["Ana Lima", "Bea Sousa"], at=START)
    assert erase_subscriber(app, "ana.lima@example.org")
    found = directory.find_people(app, Filters())
    assert [row.email for row in found.people] == ["bea.sousa@example.org"]
    assert found.erased_total == 1
    erased = directory.find_people(app, Filters(status="erased"))
    assert erased.people == []
    assert [row.erased_at for row in erased.erased] == [app.clock.now()]
    rows = list(directory.export_rows(app, Filters(status="erased")))
    assert rows == [[app.clock.now().isoformat()]]
    by_address = directory.find_people(app, Filters("ANA.LIMA@example.org", status="erased"))
    assert [row.erased_at for row in by_address.erased] == [app.clock.now()]
    kept = directory.find_people(app, Filters("bea.sousa@example.org", status="erased"))
    assert kept.erased == []
    with pytest.raises(FilterError, match="whole address"):
        directory.find_people(app, Filters("ana", status="erased"))


def test_the_export_walks_every_batch_and_guards_formulas(app: App) -> None:
    people(app, [f"Reader {n}" for n in range(7)], at=START)
    people(app, ["=HYPERLINK(1)"], at=START + timedelta(days=1))
    rows = list(directory.export_rows(app, Filters(), batch=3))
    assert len(rows) == 8
    assert rows[0][1] == "'=HYPERLINK(1)"
    assert rows[0][0].startswith("'=hyperlink(1)@")  # the address is guarded too
    assert sorted(row[1] for row in rows[1:]) == [f"Reader {n}" for n in range(7)]
    assert list(directory.export_rows(app, Filters(query="reader 3"), batch=3)) == [
        next(r for r in rows if r[1] == "Reader 3")]


def test_adding_by_default_sends_the_confirmation_email_and_leaves_them_pending(
    app: App,
) -> None:
    result = add_person(app, "New.Person@Example.org", "clinic-news", name="New Person",
                        staff_email="ed@clinic.example")
    assert result.outcome is AddOutcome.CONFIRMATION_SENT
    assert result.address == "new.person@example.org"
    assert [mail.subscriber_id for mail in outbox(app, "confirmation")]
    profile = person_profile(app, result.public_id)
    assert [(m.list_slug, m.status) for m in profile.lists] == [("clinic-news", "pending")]
    assert [step.event for step in profile.consent] == ["signup", "confirmation_sent"]
    assert profile.consent[0].form == "console"


def test_already_consented_needs_a_reason_and_keeps_it_in_the_consent_record(app: App) -> None:
    with pytest.raises(AddRefused, match="say how and when"):
        add_person(app, "paper@example.org", "clinic-news", consent_reason="   ")
    result = add_person(app, "paper@example.org", "clinic-news",
                        consent_reason="Ticked the box on the paper intake form",
                        staff_email="ed@clinic.example")
    assert result.outcome is AddOutcome.ADDED
    assert outbox(app, "confirmation") == []
    step = person_profile(app, result.public_id).consent[-1]
    assert step.event == step.method == "staff"
    assert step.consent_text == ("Added by ed@clinic.example, who states: Ticked the box on "
                                 "the paper intake form")
    assert step.consent_text_hash is not None
    assert len(step.consent_text_hash) == 64


def test_adding_refuses_bad_erased_existing_and_departed_people_with_reasons(app: App) -> None:
    with pytest.raises(AddressError):
        add_person(app, "not an address", "clinic-news")
    with pytest.raises(NotFoundError, match="no list 'nope'"):
        add_person(app, "ok@example.org", "nope")
    people(app, ["Ana Lima"], at=START)
    with pytest.raises(AddRefused, match="already subscribed") as existing:
        add_person(app, "ANA.LIMA@example.org", "clinic-news", consent_reason="again")
    assert existing.value.public_id is not None
    erase_subscriber(app, "ana.lima@example.org")
    with pytest.raises(AddRefused, match="was erased on"):
        add_person(app, "ana.lima@example.org", "clinic-news")
    people(app, ["Bea Sousa"], at=START)
    bea = directory.find_people(app, Filters(query="bea")).people[0]
    with write_transaction(app.sessions) as session:
        bea_id = session.scalar(select(Subscriber.id).where(Subscriber.public_id == bea.public_id))
        assert bea_id is not None
        withdraw_everything(session, bea_id, method="one-click",
                            status=SubscriptionStatus.UNSUBSCRIBED, now=app.clock.now())
    with pytest.raises(AddRefused, match="unsubscribed from Riverside Clinic News"):
        add_person(app, "bea.sousa@example.org", "clinic-news", consent_reason="she said so")
    assert person_profile(app, bea.public_id).lists[0].status == "unsubscribed"


def test_an_erased_person_is_not_brought_back_by_an_import(app: App, project: Path) -> None:
    people(app, ["Ana Lima"], at=START)
    erase_subscriber(app, "ana.lima@example.org")
    sheet = project / "again.csv"
    sheet.write_text("email,name\nAna.Lima@example.org,Ana Lima\n", encoding="utf-8")
    report = import_csv(app, sheet, "clinic-news")
    assert (report.added, report.suppressed) == (0, 1)
    assert directory.find_people(app, Filters(query="ana")).people == []


def test_erasing_leaves_no_address_in_bounce_records(app: App) -> None:
    people(app, ["Ana Lima"], at=START)
    with write_transaction(app.sessions) as session:
        session.add(FeedbackEvent(
            received_at=START, source="process", source_key="k1", kind="hard_bounce",
            address="ana.lima@example.org", status_code="5.1.1",
            diagnostic="550 5.1.1 <ana.lima@example.org>: no such user", action="suppressed",
            reason="hard bounce"))
    erase_subscriber(app, "ana.lima@example.org")
    with app.sessions() as session:
        event = session.scalars(select(FeedbackEvent)).one()
        assert (event.address, event.diagnostic, event.kind) == (None, None, "hard_bounce")
        assert session.scalars(select(Subscriber)).all() == []
        assert session.scalars(select(ConsentRecord)).all() == []


def test_a_broad_search_counts_up_to_a_cap_and_everyone_is_counted_exactly(app: App) -> None:
    people(app, [f"Many {n}" for n in range(directory.COUNT_CAP + 10)], at=START)
    people(app, ["Other One"], at=START)
    broad = directory.find_people(app, Filters(query="many"))
    assert (broad.total, broad.total_capped) == (directory.COUNT_CAP, True)
    assert len(broad.people) == directory.PAGE_SIZE
    everyone = directory.find_people(app, Filters())
    assert (everyone.total, everyone.total_capped) == (directory.COUNT_CAP + 11, False)
    narrow = directory.find_people(app, Filters(query="other"))
    assert (narrow.total, narrow.total_capped) == (1, False)
