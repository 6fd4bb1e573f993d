package interop

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// sentBatch is a batch to send through DoExchange with its app_metadata.
type sentBatch struct {
	record      arrow.RecordBatch
	appMetadata []byte
}

// exchange sends the batches through DoExchange and reads the echo. Sending runs in
// its own goroutine: the server echoes while it reads, so a client that only reads
// after sending everything would stall both sides once the flow-control windows fill.
func exchange(t *testing.T, schema *arrow.Schema, batches []sentBatch) (*arrow.Schema, []receivedBatch) {
	t.Helper()
	client := newClient(t)
	ctx := callContext(t)
	stream, err := client.DoExchange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sendErr := make(chan error, 1)
	go func() {
		writer := flight.NewRecordWriter(stream, ipc.WithSchema(schema))
		writer.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte("echo")})
		for i, batch := range batches {
			if err := writer.WriteWithAppMetadata(batch.record, batch.appMetadata); err != nil {
				sendErr <- fmt.Errorf("sending batch %d: %w", i, err)
				return
			}
		}
		if err := writer.Close(); err != nil {
			sendErr <- err
			return
		}
		sendErr <- stream.CloseSend()
	}()
	gotSchema, got, err := readAllBatches(t, stream)
	if err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	// The read ends only after the server ended the call, so the sender is done too.
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	return gotSchema, got
}

func checkEcho(t *testing.T, schema *arrow.Schema, sent []sentBatch, gotSchema *arrow.Schema, got []receivedBatch) {
	t.Helper()
	checkSchemaEqual(t, gotSchema, schema)
	if len(got) != len(sent) {
		t.Fatalf("echoed %d batches, sent %d", len(got), len(sent))
	}
	for i := range sent {
		checkRecordEqual(t, got[i].record, sent[i].record)
		if !bytes.Equal(got[i].appMetadata, sent[i].appMetadata) {
			t.Fatalf("batch %d came back with app_metadata %q, sent %q", i, got[i].appMetadata, sent[i].appMetadata)
		}
	}
}

var exchangeSchema = arrow.NewSchema([]arrow.Field{
	{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
	{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "tag", Type: dictionaryType, Nullable: true},
}, nil)

// exchangeBatch builds a small batch whose values depend on n, so that batches
// reordered or mixed up on the way back would not compare equal.
func exchangeBatch(t *testing.T, n int) arrow.RecordBatch {
	t.Helper()
	seq := mustFromJSON(t, arrow.PrimitiveTypes.Int64, fmt.Sprintf(`[%d, %d, %d]`, n*10, n*10+1, n*10+2))
	label := mustFromJSON(t, arrow.BinaryTypes.String, fmt.Sprintf(`["batch %d", null, "end %d"]`, n, n))
	score := mustFromJSON(t, arrow.PrimitiveTypes.Float64, fmt.Sprintf(`[%d.5, null, -%d.25]`, n, n))
	tag, err := array.DictArrayFromJSON(memory.DefaultAllocator, dictionaryType, `[0, null, 1]`, fmt.Sprintf(`["a%d", "b%d"]`, n, n))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tag.Release)
	record := array.NewRecordBatch(exchangeSchema, []arrow.Array{seq, label, score, tag}, 3)
	t.Cleanup(record.Release)
	return record
}

func TestDoExchangeEchoesBatchesWithAppMetadataInOrder(t *testing.T) {
	var sent []sentBatch
	for n := range 6 {
		sent = append(sent, sentBatch{exchangeBatch(t, n), []byte(fmt.Sprintf("request %d", n))})
	}
	gotSchema, got := exchange(t, exchangeSchema, sent)
	checkEcho(t, exchangeSchema, sent, gotSchema, got)
}

func TestDoExchangeZeroRowBatch(t *testing.T) {
	empty := array.NewRecordBatch(exchangeSchema, []arrow.Array{
		mustFromJSON(t, arrow.PrimitiveTypes.Int64, `[]`),
		mustFromJSON(t, arrow.BinaryTypes.String, `[]`),
		mustFromJSON(t, arrow.PrimitiveTypes.Float64, `[]`),
		mustFromJSON(t, dictionaryType, `[]`),
	}, 0)
	t.Cleanup(empty.Release)
	// The empty batch sits between two others, to show it is kept as a batch of its own.
	sent := []sentBatch{
		{exchangeBatch(t, 1), []byte("before")},
		{empty, []byte("empty")},
		{exchangeBatch(t, 2), []byte("after")},
	}
	gotSchema, got := exchange(t, exchangeSchema, sent)
	checkEcho(t, exchangeSchema, sent, gotSchema, got)
	if got[1].record.NumRows() != 0 {
		t.Fatalf("the empty batch came back with %d rows", got[1].record.NumRows())
	}
}

func TestDoExchangeLargeBatch(t *testing.T) {
	// 32 MiB of int64 plus about 28 MiB of strings and offsets in one batch: far over
	// gRPC's default 4 MiB message limit, so both sides must have lifted it.
	const rows = 4 << 20
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "value", Type: arrow.PrimitiveTypes.Int64},
		{Name: "text", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	values := array.NewInt64Builder(memory.DefaultAllocator)
	defer values.Release()
	texts := array.NewStringBuilder(memory.DefaultAllocator)
	defer texts.Release()
	values.Reserve(rows)
	texts.Reserve(rows)
	for i := range rows {
		// A multiplicative hash, so every position holds a different, checkable value.
		values.UnsafeAppend(int64(i) * 2654435761)
		if i%7 == 0 {
			texts.AppendNull()
		} else {
			texts.Append(fmt.Sprint(i % 1000))
		}
	}
	valueColumn := values.NewArray()
	t.Cleanup(valueColumn.Release)
	textColumn := texts.NewArray()
	t.Cleanup(textColumn.Release)
	big := array.NewRecordBatch(schema, []arrow.Array{valueColumn, textColumn}, rows)
	t.Cleanup(big.Release)

	sent := []sentBatch{{big, []byte("large")}}
	gotSchema, got := exchange(t, schema, sent)
	checkEcho(t, schema, sent, gotSchema, got)
}

func TestDoExchangeEchoesMetadataOnlyMessagesInPlace(t *testing.T) {
	client := newClient(t)
	ctx := callContext(t)
	stream, err := client.DoExchange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	writer := flight.NewRecordWriter(stream, ipc.WithSchema(exchangeSchema))
	if err := writer.WriteWithAppMetadata(exchangeBatch(t, 1), []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := writer.WriteMetadata([]byte("between")); err != nil {
		t.Fatal(err)
	}
	if err := writer.WriteWithAppMetadata(exchangeBatch(t, 2), []byte("two")); err != nil {
		t.Fatal(err)
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	// arrow-go's record reader has no place for a message without an IPC header, so
	// read the raw FlightData and name each message by its IPC type.
	messages, err := recvUntilEOF(stream.Recv)
	if err != nil {
		t.Fatal(err)
	}
	var sequence []string
	for _, data := range messages {
		kind := "metadata-only"
		if len(data.DataHeader) > 0 {
			message := ipc.NewMessage(memory.NewBufferBytes(data.DataHeader), memory.NewBufferBytes(data.DataBody))
			kind = message.Type().String()
			message.Release()
		}
		if kind == ipc.MessageDictionaryBatch.String() {
			continue // how many the server sends is its choice; the batches check the values
		}
		sequence = append(sequence, fmt.Sprintf("%s %q", kind, data.AppMetadata))
	}
	want := []string{
		fmt.Sprintf("%s %q", ipc.MessageSchema, ""),
		fmt.Sprintf("%s %q", ipc.MessageRecordBatch, "one"),
		fmt.Sprintf("metadata-only %q", "between"),
		fmt.Sprintf("%s %q", ipc.MessageRecordBatch, "two"),
	}
	if fmt.Sprint(sequence) != fmt.Sprint(want) {
		t.Fatalf("echoed messages\n got: %q\nwant: %q", sequence, want)
	}
}
