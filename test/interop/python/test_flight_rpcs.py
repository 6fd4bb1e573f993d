"""The RPCs around the data streams: listings, actions, handshake, and what pyarrow 26
can and cannot call."""
import json

import pyarrow as pa
import pyarrow.flight as flight
import pytest


def _healthcheck(client, options):
    results = list(client.do_action(flight.Action("healthcheck", b""), options=options))
    assert len(results) == 1
    return json.loads(results[0].body.to_pybytes())


def _path_body(descriptor):
    return json.dumps([p.decode() for p in descriptor.path]).encode()


def test_list_actions_names_clear_and_healthcheck(client, call_options):
    actions = list(client.list_actions(options=call_options))
    assert [a.type for a in actions] == ["clear", "healthcheck"]
    assert all(isinstance(a.description, str) and a.description for a in actions)


def test_healthcheck_counts_flights_and_clear_removes_one(io, client, descriptor, call_options):
    before = _healthcheck(client, call_options)
    assert before["status"] == "ok"
    batch = pa.record_batch([pa.array([1])], names=["x"])
    io.put(descriptor, batch.schema, [(batch, None)])
    assert _healthcheck(client, call_options) == {"status": "ok", "flights": before["flights"] + 1}

    results = list(client.do_action(flight.Action("clear", _path_body(descriptor)), options=call_options))
    assert [json.loads(r.body.to_pybytes()) for r in results] == [{"cleared": True, "flights": before["flights"]}]
    with pytest.raises(pa.ArrowKeyError):
        client.get_flight_info(descriptor, options=call_options)


def test_list_flights_lists_each_upload_once_with_its_endpoint(io, client, memory_server, call_options, request):
    descriptors = [flight.FlightDescriptor.for_path("pytest", request.node.name, str(i)) for i in range(3)]
    for i, d in enumerate(descriptors):
        batch = pa.record_batch([pa.array(list(range(i + 1)), pa.int16())], names=["n"])
        io.put(d, batch.schema, [(batch, None)])
    listed = {tuple(info.descriptor.path): info for info in client.list_flights(options=call_options)}
    for i, d in enumerate(descriptors):
        info = listed[tuple(d.path)]
        assert info.total_records == i + 1
        assert info.schema == pa.schema([("n", pa.int16())])
        [endpoint] = info.endpoints
        assert [loc.uri.decode() for loc in endpoint.locations] == [memory_server]
    # Criteria are accepted (the memory server does not filter by them).
    filtered = {tuple(i.descriptor.path) for i in client.list_flights(b"anything", options=call_options)}
    assert {tuple(d.path) for d in descriptors} <= filtered


def test_a_ticket_from_flight_info_works_on_a_second_connection(io, memory_server, descriptor):
    batch = pa.record_batch([pa.array(["a", "b"])], names=["s"])
    io.put(descriptor, batch.schema, [(batch, b"m")])
    ticket = io.ticket(descriptor)
    with flight.connect(memory_server) as other:
        reader = other.do_get(ticket, options=io.options)
        assert reader.read_all().equals(pa.Table.from_batches([batch]))


def test_handshake_is_unimplemented_and_says_so(client, call_options):
    with pytest.raises(pa.ArrowNotImplementedError, match="Handshake is not implemented by this server"):
        client.authenticate_basic_token("user", "password", options=call_options)


class _PayloadAuthHandler(flight.ClientAuthHandler):
    """Sends one raw Handshake payload, as custom auth schemes do."""

    def authenticate(self, outgoing, incoming):
        outgoing.write(b"hello")
        incoming.read()

    def get_token(self):
        return b""


def test_a_raw_handshake_is_unimplemented_too(client, call_options):
    with pytest.raises(pa.ArrowNotImplementedError, match="Handshake is not implemented"):
        client.authenticate(_PayloadAuthHandler(), options=call_options)
    assert _healthcheck(client, call_options)["status"] == "ok"
