"""What a pyarrow client sees when the memory server refuses a call: the exception class
pyarrow 26 maps each gRPC status to, carrying the message the server wrote, and a server
that keeps serving afterwards.

pyarrow 26 maps NOT_FOUND to ArrowKeyError, INVALID_ARGUMENT to ArrowInvalid and
UNIMPLEMENTED to ArrowNotImplementedError; none of the three is a FlightError subclass.
"""
import json

import pyarrow as pa
import pyarrow.flight as flight
import pytest


@pytest.fixture
def still_serving(client, call_options):
    """After the test, the same connection still gets answers."""
    yield
    [result] = list(client.do_action(flight.Action("healthcheck", b""), options=call_options))
    assert json.loads(result.body.to_pybytes())["status"] == "ok"


def _raised(exc_info, cls):
    assert type(exc_info.value) is cls, f"expected exactly {cls.__name__}, got {type(exc_info.value).__mro__}"
    assert not isinstance(exc_info.value, flight.FlightError)
    return str(exc_info.value)


def _unknown_path(request):
    return flight.FlightDescriptor.for_path("pytest", request.node.name, "never stored")


def test_get_flight_info_of_an_unknown_path_is_not_found(client, call_options, request, still_serving):
    with pytest.raises(pa.ArrowKeyError) as e:
        client.get_flight_info(_unknown_path(request), options=call_options)
    message = _raised(e, pa.ArrowKeyError)
    assert "Flight returned not found error" in message
    assert f'no flight stored at path ["pytest","{request.node.name}","never stored"]; stored: ' in message


def test_get_flight_info_of_an_unknown_command_is_not_found(client, call_options, still_serving):
    with pytest.raises(pa.ArrowKeyError) as e:
        client.get_flight_info(flight.FlightDescriptor.for_command(b"SELECT nothing"), options=call_options)
    assert 'no flight stored at cmd "SELECT nothing"' in _raised(e, pa.ArrowKeyError)


def test_get_schema_of_an_unknown_path_is_not_found(client, call_options, request, still_serving):
    with pytest.raises(pa.ArrowKeyError) as e:
        client.get_schema(_unknown_path(request), options=call_options)
    assert "no flight stored at path" in _raised(e, pa.ArrowKeyError)


def test_do_get_of_an_unknown_ticket_is_not_found(client, call_options, still_serving):
    # pyarrow reads the schema inside do_get(), so the status surfaces there.
    with pytest.raises(pa.ArrowKeyError) as e:
        client.do_get(flight.Ticket(b"no-such-ticket"), options=call_options)
    assert 'no flight for ticket "no-such-ticket"' in _raised(e, pa.ArrowKeyError)


@pytest.mark.parametrize("body, says", [
    (b"{not json", 'clear takes a JSON array path as its body, got "{not json"'),
    (b'{"path": "a"}', "clear takes a JSON array of strings as its body"),
    (b"[1, 2]", "clear takes a JSON array of strings as its body"),
])
def test_clear_with_a_bad_body_is_invalid_argument(client, call_options, body, says, still_serving):
    with pytest.raises(pa.ArrowInvalid) as e:
        list(client.do_action(flight.Action("clear", body), options=call_options))
    message = _raised(e, pa.ArrowInvalid)
    assert "Flight returned invalid argument error" in message
    assert says in message


def test_an_unknown_action_is_unimplemented_and_lists_the_known_ones(client, call_options, still_serving):
    with pytest.raises(pa.ArrowNotImplementedError) as e:
        list(client.do_action(flight.Action("explode", b""), options=call_options))
    message = _raised(e, pa.ArrowNotImplementedError)
    assert "Flight returned unimplemented error" in message
    assert 'unknown action "explode"; this server has: clear, healthcheck' in message


def test_a_failed_call_leaves_stored_flights_intact(io, client, descriptor, call_options, still_serving):
    batch = pa.record_batch([pa.array([1.0, 2.0])], names=["x"])
    io.put(descriptor, batch.schema, [(batch, None)])
    for _ in range(3):
        with pytest.raises(pa.ArrowNotImplementedError):
            list(client.do_action(flight.Action("nope", b""), options=call_options))
        with pytest.raises(pa.ArrowKeyError):
            client.do_get(flight.Ticket(b"missing"), options=call_options).read_all()
    _, got = io.get(descriptor)
    io.assert_same([(batch, None)], got)


def test_a_call_past_its_deadline_is_timed_out_and_the_server_serves_on(client, descriptor, call_options, still_serving):
    # The exchange stays open and silent; the client's own deadline ends it.
    writer, reader = client.do_exchange(descriptor, options=flight.FlightCallOptions(timeout=0.5))
    with pytest.raises(flight.FlightTimedOutError, match="Deadline Exceeded"):
        reader.read_chunk()
    with pytest.raises(flight.FlightTimedOutError):
        writer.close()
