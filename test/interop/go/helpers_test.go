package interop

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// receivedBatch is one record batch read from a Flight stream with its app_metadata.
type receivedBatch struct {
	record      arrow.RecordBatch
	appMetadata []byte
}

// readAllBatches reads a Flight data stream to its end. The records are retained, so
// they stay valid after the reader moves on; the test's cleanup releases them.
func readAllBatches(t *testing.T, stream flight.DataStreamReader) (*arrow.Schema, []receivedBatch, error) {
	t.Helper()
	reader, err := flight.NewRecordReader(stream)
	if err != nil {
		return nil, nil, err
	}
	defer reader.Release()
	var batches []receivedBatch
	for reader.Next() {
		record := reader.RecordBatch()
		record.Retain()
		t.Cleanup(record.Release)
		// The reader reuses its metadata slice per message: copy it.
		batches = append(batches, receivedBatch{record: record, appMetadata: append([]byte(nil), reader.LatestAppMetadata()...)})
	}
	return reader.Schema(), batches, reader.Err()
}

// requireStatus checks that err is a gRPC status with the wanted code and that its
// message contains every wanted fragment (the server's own words, not a generic text).
func requireStatus(t *testing.T, err error, want codes.Code, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected %s, got success", want)
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("expected a gRPC status %s, got %T: %v", want, err, err)
	}
	if st.Code() != want {
		t.Fatalf("expected code %s, got %s: %s", want, st.Code(), st.Message())
	}
	for _, fragment := range fragments {
		if !strings.Contains(st.Message(), fragment) {
			t.Fatalf("status message %q does not contain %q", st.Message(), fragment)
		}
	}
}

// recvUntilEOF drains a stream of any message type, returning the messages and the
// call's final error (nil when it ended with OK).
func recvUntilEOF[T any](recv func() (T, error)) ([]T, error) {
	var out []T
	for {
		msg, err := recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, msg)
	}
}

// mustFromJSON builds one array from its JSON values, failing the test on bad input.
func mustFromJSON(t *testing.T, dt arrow.DataType, values string) arrow.Array {
	t.Helper()
	arr, _, err := array.FromJSON(memory.DefaultAllocator, dt, strings.NewReader(values))
	if err != nil {
		t.Fatalf("building %s from %s: %v", dt, values, err)
	}
	t.Cleanup(arr.Release)
	return arr
}

func pathDescriptor(path ...string) *flight.FlightDescriptor {
	return &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: path}
}
