package interop

import (
	"encoding/json"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc/codes"
)

// doAction runs an action and returns the bodies of its results.
func doAction(t *testing.T, client flight.Client, actionType string, body []byte) ([][]byte, error) {
	t.Helper()
	stream, err := client.DoAction(callContext(t), &flight.Action{Type: actionType, Body: body})
	if err != nil {
		return nil, err
	}
	results, err := recvUntilEOF(stream.Recv)
	var bodies [][]byte
	for _, result := range results {
		bodies = append(bodies, result.GetBody())
	}
	return bodies, err
}

// healthcheck asks the server for its health and fails the test unless it is "ok".
func healthcheck(t *testing.T, client flight.Client) int {
	t.Helper()
	bodies, err := doAction(t, client, "healthcheck", nil)
	if err != nil {
		t.Fatalf("healthcheck failed: %v", err)
	}
	if len(bodies) != 1 {
		t.Fatalf("healthcheck gave %d results, want 1", len(bodies))
	}
	var health struct {
		Status  string `json:"status"`
		Flights *int   `json:"flights"`
	}
	if err := json.Unmarshal(bodies[0], &health); err != nil {
		t.Fatalf("healthcheck body %q is not JSON: %v", bodies[0], err)
	}
	if health.Status != "ok" || health.Flights == nil {
		t.Fatalf("healthcheck body %s, want status ok and a flight count", bodies[0])
	}
	return *health.Flights
}

// putFlight stores one small batch at the path.
func putFlight(t *testing.T, client flight.Client, path ...string) {
	t.Helper()
	stream, err := client.DoPut(callContext(t))
	if err != nil {
		t.Fatal(err)
	}
	writer := flight.NewRecordWriter(stream, ipc.WithSchema(exchangeSchema))
	writer.SetFlightDescriptor(pathDescriptor(path...))
	if err := writer.Write(exchangeBatch(t, 0)); err != nil {
		t.Fatal(err)
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := recvUntilEOF(stream.Recv); err != nil {
		t.Fatalf("DoPut at %q failed: %v", path, err)
	}
}

func TestHealthcheckCountsStoredFlights(t *testing.T) {
	client := newClient(t)
	before := healthcheck(t, client)
	// A path no other test uses, so the count goes up by exactly one.
	putFlight(t, client, "interop-go", "healthcheck")
	if after := healthcheck(t, client); after != before+1 {
		t.Fatalf("healthcheck counted %d flights after one DoPut, %d before", after, before)
	}
}

func TestListActions(t *testing.T) {
	client := newClient(t)
	stream, err := client.ListActions(callContext(t), &flight.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	actions, err := recvUntilEOF(stream.Recv)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, action := range actions {
		if action.GetDescription() == "" {
			t.Errorf("action %q has no description", action.GetType())
		}
		types = append(types, action.GetType())
	}
	sort.Strings(types)
	if len(types) != 2 || types[0] != "clear" || types[1] != "healthcheck" {
		t.Fatalf("ListActions gave %q, want clear and healthcheck", types)
	}
}

func TestClearActionRemovesOneFlight(t *testing.T) {
	client := newClient(t)
	putFlight(t, client, "interop-go", "to-clear")
	if _, err := client.GetFlightInfo(callContext(t), pathDescriptor("interop-go", "to-clear")); err != nil {
		t.Fatalf("the flight just stored is not found: %v", err)
	}
	bodies, err := doAction(t, client, "clear", []byte(`["interop-go", "to-clear"]`))
	if err != nil {
		t.Fatalf("clear failed: %v", err)
	}
	var cleared struct {
		Cleared bool `json:"cleared"`
	}
	if len(bodies) != 1 || json.Unmarshal(bodies[0], &cleared) != nil || !cleared.Cleared {
		t.Fatalf("clear answered %q, want one {\"cleared\":true}", bodies)
	}
	_, err = client.GetFlightInfo(callContext(t), pathDescriptor("interop-go", "to-clear"))
	requireStatus(t, err, codes.NotFound, `no flight stored at path ["interop-go","to-clear"]`)
}

func TestClearActionRefusesABodyThatIsNotAPath(t *testing.T) {
	_, err := doAction(t, newClient(t), "clear", []byte(`{not json`))
	requireStatus(t, err, codes.InvalidArgument, "clear takes a JSON array path as its body")
}

func TestUnknownActionIsUnimplemented(t *testing.T) {
	_, err := doAction(t, newClient(t), "no-such-action", nil)
	requireStatus(t, err, codes.Unimplemented, `unknown action "no-such-action"`, "clear, healthcheck")
}

func TestUnknownFlightIsNotFound(t *testing.T) {
	client := newClient(t)
	missing := pathDescriptor("interop-go", "never-stored")
	wantMessage := `no flight stored at path ["interop-go","never-stored"]`

	t.Run("GetFlightInfo", func(t *testing.T) {
		_, err := client.GetFlightInfo(callContext(t), missing)
		requireStatus(t, err, codes.NotFound, wantMessage)
	})
	t.Run("GetSchema", func(t *testing.T) {
		_, err := client.GetSchema(callContext(t), missing)
		requireStatus(t, err, codes.NotFound, wantMessage)
	})
	t.Run("PollFlightInfo", func(t *testing.T) {
		_, err := client.PollFlightInfo(callContext(t), missing)
		requireStatus(t, err, codes.NotFound, wantMessage)
	})
	t.Run("DoGet with an unknown ticket", func(t *testing.T) {
		stream, err := client.DoGet(callContext(t), &flight.Ticket{Ticket: []byte("no-such-ticket")})
		if err == nil {
			// A server stream reports its status on the first receive.
			_, err = stream.Recv()
		}
		requireStatus(t, err, codes.NotFound, `no flight for ticket "no-such-ticket"`)
	})
}

// The descriptor types arrow-go sends must be told apart: a CMD descriptor whose bytes
// spell a path is a different flight.
func TestCommandDescriptorIsItsOwnFlight(t *testing.T) {
	client := newClient(t)
	command := &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(`{"query":"interop"}`)}
	stream, err := client.DoPut(callContext(t))
	if err != nil {
		t.Fatal(err)
	}
	writer := flight.NewRecordWriter(stream, ipc.WithSchema(exchangeSchema))
	writer.SetFlightDescriptor(command)
	batch := exchangeBatch(t, 7)
	if err := writer.Write(batch); err != nil {
		t.Fatal(err)
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := recvUntilEOF(stream.Recv); err != nil {
		t.Fatal(err)
	}
	info, err := client.GetFlightInfo(callContext(t), command)
	if err != nil {
		t.Fatal(err)
	}
	if info.GetFlightDescriptor().GetType() != flight.DescriptorCMD || string(info.GetFlightDescriptor().GetCmd()) != string(command.Cmd) {
		t.Fatalf("FlightInfo describes %v, want the command sent", info.GetFlightDescriptor())
	}
	getStream, err := client.DoGet(callContext(t), info.Endpoint[0].GetTicket())
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := readAllBatches(t, getStream)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d batches, want 1", len(got))
	}
	checkRecordEqual(t, got[0].record, batch)

	_, err = client.GetFlightInfo(callContext(t), pathDescriptor(`{"query":"interop"}`))
	requireStatus(t, err, codes.NotFound)
}
