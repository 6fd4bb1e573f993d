package interop

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

// capturedStream collects the FlightData messages arrow-go's writer produces, so a
// test can take real messages apart and send broken versions of them.
type capturedStream struct{ messages []*flight.FlightData }

func (c *capturedStream) Send(data *flight.FlightData) error {
	// The writer reuses its FlightData between sends: keep a copy.
	c.messages = append(c.messages, &flight.FlightData{
		DataHeader:  append([]byte(nil), data.DataHeader...),
		DataBody:    append([]byte(nil), data.DataBody...),
		AppMetadata: append([]byte(nil), data.AppMetadata...),
	})
	return nil
}

// schemaAndBatchMessages returns the two messages of a valid one-batch stream: its
// schema and its record batch (the schema has no dictionary, so there are no others).
func schemaAndBatchMessages(t *testing.T) (schemaMessage, batchMessage *flight.FlightData) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	batch := array.NewRecordBatch(schema, []arrow.Array{
		mustFromJSON(t, arrow.PrimitiveTypes.Int64, `[1, 2, 3, 4]`),
		mustFromJSON(t, arrow.BinaryTypes.String, `["a", null, "ccc", "dddd"]`),
	}, 4)
	t.Cleanup(batch.Release)
	var captured capturedStream
	writer := flight.NewRecordWriter(&captured, ipc.WithSchema(schema))
	if err := writer.Write(batch); err != nil {
		t.Fatal(err)
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	if len(captured.messages) < 2 {
		t.Fatalf("arrow-go wrote %d messages, want a schema and a batch", len(captured.messages))
	}
	return captured.messages[0], captured.messages[1]
}

// sendRawDoPut sends the messages as they are through DoPut's gRPC stream and returns
// the call's final status. The server may fail the call before everything is sent;
// Send then reports io.EOF and the real status comes from Recv.
func sendRawDoPut(t *testing.T, client flight.Client, messages []*flight.FlightData) error {
	t.Helper()
	stream, err := client.DoPut(callContext(t))
	if err != nil {
		return err
	}
	for _, message := range messages {
		if err := stream.Send(message); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
	}
	_ = stream.CloseSend()
	_, err = recvUntilEOF(stream.Recv)
	return err
}

// checkServerStillServes makes a good call after a failed one: the failure must have
// ended that call only, and a failed upload must have stored nothing.
func checkServerStillServes(t *testing.T, client flight.Client, failedPath ...string) {
	t.Helper()
	healthcheck(t, client)
	_, err := client.GetFlightInfo(callContext(t), pathDescriptor(failedPath...))
	requireStatus(t, err, codes.NotFound)
}

func TestMalformedDoPutIsInvalidArgument(t *testing.T) {
	client := newClient(t)

	t.Run("garbage data_header", func(t *testing.T) {
		path := []string{"interop-go", "garbage-header"}
		err := sendRawDoPut(t, client, []*flight.FlightData{{
			FlightDescriptor: pathDescriptor(path...),
			// Whatever these bytes decode to, it is no valid IPC message.
			DataHeader: []byte("this is not a flatbuffer Message at all"),
		}})
		requireStatus(t, err, codes.InvalidArgument)
		checkServerStillServes(t, client, path...)
	})

	t.Run("garbage data_header after a valid schema", func(t *testing.T) {
		path := []string{"interop-go", "garbage-after-schema"}
		schema, _ := schemaAndBatchMessages(t)
		schema.FlightDescriptor = pathDescriptor(path...)
		err := sendRawDoPut(t, client, []*flight.FlightData{schema, {DataHeader: []byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}}})
		requireStatus(t, err, codes.InvalidArgument)
		checkServerStillServes(t, client, path...)
	})

	t.Run("record batch before the schema", func(t *testing.T) {
		path := []string{"interop-go", "batch-first"}
		_, batch := schemaAndBatchMessages(t)
		batch.FlightDescriptor = pathDescriptor(path...)
		err := sendRawDoPut(t, client, []*flight.FlightData{batch})
		requireStatus(t, err, codes.InvalidArgument, "record batch before schema")
		checkServerStillServes(t, client, path...)
	})

	t.Run("data_body shorter than its header declares", func(t *testing.T) {
		path := []string{"interop-go", "short-body"}
		schema, batch := schemaAndBatchMessages(t)
		schema.FlightDescriptor = pathDescriptor(path...)
		batch.DataBody = batch.DataBody[:len(batch.DataBody)/2]
		err := sendRawDoPut(t, client, []*flight.FlightData{schema, batch})
		requireStatus(t, err, codes.InvalidArgument, "data_body is")
		checkServerStillServes(t, client, path...)
	})

	t.Run("no flight descriptor", func(t *testing.T) {
		schema, batch := schemaAndBatchMessages(t)
		err := sendRawDoPut(t, client, []*flight.FlightData{schema, batch})
		requireStatus(t, err, codes.InvalidArgument, "must start with a flight descriptor")
		healthcheck(t, client)
	})

	t.Run("many deterministic random data_headers", func(t *testing.T) {
		// Random bytes reach decoding paths no hand-picked garbage does; each must be
		// refused as the client's error, never surface as INTERNAL or kill the server.
		random := rand.New(rand.NewPCG(1, 2))
		for i := range 200 {
			header := make([]byte, 4+random.IntN(200))
			for j := range header {
				header[j] = byte(random.Uint32())
			}
			err := sendRawDoPut(t, client, []*flight.FlightData{{
				FlightDescriptor: pathDescriptor("interop-go", "random-header"),
				DataHeader:       header,
				DataBody:         header,
			}})
			if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument {
				t.Fatalf("random header #%d (%x): got %v, want InvalidArgument", i, header, err)
			}
		}
		checkServerStillServes(t, client, "interop-go", "random-header")
	})

	t.Run("valid messages with flipped bytes", func(t *testing.T) {
		// Flipping bytes of real schema and batch headers reaches the deep decoding
		// steps (field types, buffer offsets, lengths). Some flips are harmless, so a
		// call may succeed; a failure must be InvalidArgument, never INTERNAL.
		random := rand.New(rand.NewPCG(3, 4))
		for i := range 300 {
			schema, batch := schemaAndBatchMessages(t)
			target, targetName := schema, "schema"
			if i%2 == 1 {
				target, targetName = batch, "batch"
			}
			at := random.IntN(len(target.DataHeader))
			target.DataHeader[at] ^= byte(1 + random.IntN(255))
			schema.FlightDescriptor = pathDescriptor("interop-go", "flipped")
			err := sendRawDoPut(t, client, []*flight.FlightData{schema, batch})
			if st, _ := status.FromError(err); err != nil && st.Code() != codes.InvalidArgument {
				t.Fatalf("flip #%d at byte %d of the %s header: got %v, want success or InvalidArgument", i, at, targetName, err)
			}
		}
		healthcheck(t, client)
	})

	t.Run("type-mix stream with flipped bytes", func(t *testing.T) {
		// The same with every type of the mix, nested types and dictionaries included,
		// flipping header or body bytes (string and list offsets, dictionary indices):
		// whatever the server makes of them, it must not answer INTERNAL or go down.
		random := rand.New(rand.NewPCG(5, 6))
		schema := typeMixSchema()
		var captured capturedStream
		writer := flight.NewRecordWriter(&captured, ipc.WithSchema(schema))
		for _, batch := range typeMixBatches(t, schema) {
			if err := writer.Write(batch); err != nil {
				t.Fatal(err)
			}
		}
		if err := writer.Close(); err != nil {
			t.Fatal(err)
		}
		for i := range 300 {
			messages := make([]*flight.FlightData, len(captured.messages))
			for m, original := range captured.messages {
				messages[m] = &flight.FlightData{
					DataHeader: append([]byte(nil), original.DataHeader...),
					DataBody:   append([]byte(nil), original.DataBody...),
				}
			}
			target := messages[random.IntN(len(messages))]
			part, partName := target.DataHeader, "header"
			if len(target.DataBody) > 0 && random.IntN(2) == 0 {
				part, partName = target.DataBody, "body"
			}
			at := random.IntN(len(part))
			part[at] ^= byte(1 + random.IntN(255))
			messages[0].FlightDescriptor = pathDescriptor("interop-go", "flipped-type-mix")
			err := sendRawDoPut(t, client, messages)
			if st, _ := status.FromError(err); err != nil && st.Code() != codes.InvalidArgument {
				t.Fatalf("flip #%d at byte %d of a %s: got %v, want success or InvalidArgument", i, at, partName, err)
			}
		}
		healthcheck(t, client)
	})

	t.Run("bytes that are not a FlightData protobuf", func(t *testing.T) {
		// Field 3 (app_metadata) declares 100 bytes but the message ends after one.
		err := sendRawBytes(t, "/arrow.flight.protocol.FlightService/DoPut", []byte{0x1a, 100, 'x'})
		requireStatus(t, err, codes.InvalidArgument, "malformed")
		healthcheck(t, client)
	})
}

func TestMalformedDoExchangeIsInvalidArgument(t *testing.T) {
	client := newClient(t)
	stream, err := client.DoExchange(callContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&flight.FlightData{DataHeader: []byte("garbage")}); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	_, err = recvUntilEOF(stream.Recv)
	requireStatus(t, err, codes.InvalidArgument)
	healthcheck(t, client)
}

// rawBytesCodec sends and receives message bytes as they are, so a test can put bytes
// on the wire that no protobuf library would produce. It keeps the name "proto" so
// the request carries the content type the server expects.
type rawBytesCodec struct{}

func (rawBytesCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawBytesCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawBytesCodec) Name() string { return "proto" }

var _ encoding.Codec = rawBytesCodec{}

// sendRawBytes opens a bidirectional call on the method, sends one message of the given
// bytes, and returns the call's final status.
func sendRawBytes(t *testing.T, method string, message []byte) error {
	t.Helper()
	conn, err := grpc.NewClient(serverAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.ForceCodec(rawBytesCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(callContext(t))
	defer cancel()
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method)
	if err != nil {
		return err
	}
	if err := stream.SendMsg(&message); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	_ = stream.CloseSend()
	for {
		var reply []byte
		if err := stream.RecvMsg(&reply); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
