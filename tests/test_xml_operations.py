"""An RPC over one URL whose operation a header names (SOAPAction) and whose bodies are XML (issues 22 and 24): ids
a response handed out inside XML and a later request sends back inside XML. The Pact core has no generators for
XML bodies, so verify's relay writes the fresh provider's ids into them. Shown by a minimal SOAP-style provider,
recorded through `pact-recorder record` and verified from empty with `--states-from-recording`."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from tests.test_first_contact import Provider, first_contact, green, send

XML = {"Content-Type": "text/xml; charset=utf-8"}


class Library(Provider):
    """Books at `POST /`, the operation in SOAPAction: AddBook answers the new book's id (ids count up, never
    reused), GetBook and DeleteBook take one; an id none has is a fault (500)."""

    def do_POST(self):  # noqa: N802
        action = self.headers.get("SOAPAction", "").strip('"').rpartition("/")[2]
        call = ElementTree.fromstring(self.body()).find("Body/*")
        books = self.store.setdefault("books", {})
        with self.lock:
            if action == "AddBook":
                self.store["n"] = n = self.store.get("n", 0) + 1
                books[str(n)] = call.findtext("title")
                return self.answer(200, f"<AddBookResponse><id>{n}</id></AddBookResponse>")
            book = call.findtext("id")
            if book not in books:
                return self.answer(500, f"<Fault><faultstring>no book {book}</faultstring></Fault>")
            if action == "DeleteBook":
                del books[book]
                return self.answer(200, "<DeleteBookResponse><done>true</done></DeleteBookResponse>")
            return self.answer(200, f"<GetBookResponse><id>{book}</id><title>{books[book]}</title></GetBookResponse>")

    def answer(self, status: int, inner: str) -> None:
        self.send_bytes(status, f"<Envelope><Body>{inner}</Body></Envelope>".encode(), XML)


def call(url: str, action: str, inner: str) -> str:
    body = f"<?xml version='1.0'?><Envelope><Body><{action}>{inner}</{action}></Body></Envelope>".encode()
    status, _, answer = send(url, "POST", "/", body, XML | {"SOAPAction": f'"urn:library/{action}"'})
    assert status == 200, answer
    return answer.decode()


def session(url: str) -> None:
    first = re.search(r"<id>(\d+)</id>", call(url, "AddBook", "<title>Dune</title>")).group(1)
    second = re.search(r"<id>(\d+)</id>", call(url, "AddBook", "<title>Emma</title>")).group(1)
    assert "<title>Emma</title>" in call(url, "GetBook", f"<id>{second}</id>")
    for book in (second, first):
        call(url, "DeleteBook", f"<id>{book}</id>")


def test_an_id_handed_out_inside_xml_and_sent_back_inside_xml_is_the_fresh_provider_s(tmp_path):
    """Verified in order, the book a read's setup makes has another id than recorded (the create interaction
    and the delete's setup made books first): the read must send that one, not the recorded `2`."""
    pact, result = first_contact(tmp_path, Library, session)
    assert green(result), result.stdout + result.stderr
    read = next(i for i in pact["interactions"] if "GetBook" in i["description"])
    assert [s["params"] for s in read["providerStates"]] == [{"id": 2}]
    assert "<id>2</id>" in read["request"]["body"]["content"]  # as sent: the relay writes the fresh one in
