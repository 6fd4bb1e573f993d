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

// A column of the type mix: its field and its values in each of the two batches, as
// arrow-go JSON. Dictionary columns give indices and dictionary separately, so the two
// batches can carry different dictionaries (a replacement the server must keep apart).
type mixColumn struct {
	field        arrow.Field
	values       [2]string
	dictionaries [2]string
}

var dictionaryType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}

func typeMixColumns() []mixColumn {
	nullable := func(name string, dt arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: dt, Nullable: true}
	}
	return []mixColumn{
		// Non-nullable, with field metadata, to check both survive the round trip.
		{field: arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int32, Nullable: false,
			Metadata: arrow.NewMetadata([]string{"role"}, []string{"key"})},
			values: [2]string{`[1, 2, 3, 4, 5]`, `[6, 7, 8]`}},
		{field: nullable("i8", arrow.PrimitiveTypes.Int8), values: [2]string{`[-128, 127, null, 0, -1]`, `[1, null, 2]`}},
		{field: nullable("i16", arrow.PrimitiveTypes.Int16), values: [2]string{`[-32768, 32767, null, 0, -1]`, `[1, null, 2]`}},
		{field: nullable("i32", arrow.PrimitiveTypes.Int32), values: [2]string{`[-2147483648, 2147483647, null, 0, -1]`, `[1, null, 2]`}},
		{field: nullable("i64", arrow.PrimitiveTypes.Int64), values: [2]string{`[-9223372036854775808, 9223372036854775807, null, 0, -1]`, `[1, null, 2]`}},
		{field: nullable("u8", arrow.PrimitiveTypes.Uint8), values: [2]string{`[0, 255, null, 1, 2]`, `[3, null, 4]`}},
		{field: nullable("u16", arrow.PrimitiveTypes.Uint16), values: [2]string{`[0, 65535, null, 1, 2]`, `[3, null, 4]`}},
		{field: nullable("u32", arrow.PrimitiveTypes.Uint32), values: [2]string{`[0, 4294967295, null, 1, 2]`, `[3, null, 4]`}},
		{field: nullable("u64", arrow.PrimitiveTypes.Uint64), values: [2]string{`[0, 18446744073709551615, null, 1, 2]`, `[3, null, 4]`}},
		{field: nullable("f16", arrow.FixedWidthTypes.Float16), values: [2]string{`[0.5, -1.25, null, 65504, 0]`, `[1, null, -2]`}},
		{field: nullable("f32", arrow.PrimitiveTypes.Float32), values: [2]string{`[0.5, -1.25, null, 3.4028235e38, 0]`, `[1, null, -2]`}},
		{field: nullable("f64", arrow.PrimitiveTypes.Float64), values: [2]string{`[0.1, -1e300, null, 1.7976931348623157e308, 0]`, `[1, null, -2]`}},
		{field: nullable("bool", arrow.FixedWidthTypes.Boolean), values: [2]string{`[true, false, null, true, true]`, `[false, null, true]`}},
		{field: nullable("utf8", arrow.BinaryTypes.String), values: [2]string{`["a", "", null, "héllo", "日本語"]`, `["x", null, "zz"]`}},
		{field: nullable("large_utf8", arrow.BinaryTypes.LargeString), values: [2]string{`["large", "", null, "ü", "z"]`, `["x", null, "y"]`}},
		// Binary values are base64 in arrow-go JSON.
		{field: nullable("binary", arrow.BinaryTypes.Binary), values: [2]string{`["AAEC", "", null, "/w==", "aGk="]`, `["AA==", null, "AQ=="]`}},
		{field: nullable("fixed_binary", &arrow.FixedSizeBinaryType{ByteWidth: 3}), values: [2]string{`["AAEC", "AwQF", null, "////", "AAAA"]`, `["AQID", null, "BAUG"]`}},
		{field: nullable("date32", arrow.FixedWidthTypes.Date32), values: [2]string{`[0, 19000, null, -1, 20000]`, `[1, null, 2]`}},
		{field: nullable("timestamp_tz", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Paris"}),
			values: [2]string{`[0, 1700000000000000, null, -1, 1]`, `[2, null, 3]`}},
		{field: nullable("duration", arrow.FixedWidthTypes.Duration_ms), values: [2]string{`[0, 86400000, null, -5, 1]`, `[2, null, 3]`}},
		{field: nullable("decimal", &arrow.Decimal128Type{Precision: 12, Scale: 3}),
			values: [2]string{`["123456789.123", "-0.001", null, "0", "999999999.999"]`, `["1.5", null, "-2.25"]`}},
		{field: nullable("list", arrow.ListOf(arrow.PrimitiveTypes.Int32)), values: [2]string{`[[1, 2], [], null, [null, 3], [4]]`, `[[5], null, []]`}},
		{field: nullable("large_list", arrow.LargeListOf(arrow.BinaryTypes.String)), values: [2]string{`[["a"], [], null, ["b", null], ["c", "d"]]`, `[null, ["e"], []]`}},
		{field: nullable("fixed_list", arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float32)),
			values: [2]string{`[[1, 2, 3], [0, 0, 0], null, [null, 1, 2], [4, 5, 6]]`, `[[7, 8, 9], null, [1, 1, 1]]`}},
		{field: nullable("struct", arrow.StructOf(
			arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			arrow.Field{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true})),
			values: [2]string{`[{"x": 1, "label": "one"}, {"x": null, "label": ""}, null, {"x": 3, "label": null}, {"x": 4, "label": "four"}]`,
				`[{"x": 5, "label": "five"}, null, {"x": 6, "label": "six"}]`}},
		{field: nullable("map", arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64)),
			values: [2]string{`[[{"key": "a", "value": 1}], [], null, [{"key": "b", "value": null}, {"key": "c", "value": 3}], [{"key": "d", "value": 4}]]`,
				`[null, [{"key": "e", "value": 5}], []]`}},
		{field: nullable("dictionary", dictionaryType),
			values:       [2]string{`[0, 1, null, 1, 2]`, `[1, null, 0]`},
			dictionaries: [2]string{`["red", "green", "blue"]`, `["cyan", "magenta"]`}},
		{field: nullable("null", arrow.Null), values: [2]string{`[null, null, null, null, null]`, `[null, null, null]`}},
	}
}

func typeMixSchema() *arrow.Schema {
	var fields []arrow.Field
	for _, column := range typeMixColumns() {
		fields = append(fields, column.field)
	}
	return arrow.NewSchema(fields, &arrow.Metadata{})
}

// typeMixBatches builds the two batches of the type mix (5 rows, then 3).
func typeMixBatches(t *testing.T, schema *arrow.Schema) []arrow.RecordBatch {
	t.Helper()
	rows := [2]int64{5, 3}
	var batches []arrow.RecordBatch
	for b := range 2 {
		var arrays []arrow.Array
		for _, column := range typeMixColumns() {
			if dt, ok := column.field.Type.(*arrow.DictionaryType); ok {
				arr, err := array.DictArrayFromJSON(memory.DefaultAllocator, dt, column.values[b], column.dictionaries[b])
				if err != nil {
					t.Fatalf("building dictionary column: %v", err)
				}
				t.Cleanup(arr.Release)
				arrays = append(arrays, arr)
				continue
			}
			arrays = append(arrays, mustFromJSON(t, column.field.Type, column.values[b]))
		}
		batch := array.NewRecordBatch(schema, arrays, rows[b])
		t.Cleanup(batch.Release)
		batches = append(batches, batch)
	}
	return batches
}

func TestTypeMixPutListGet(t *testing.T) {
	client := newClient(t)
	ctx := callContext(t)
	metadata := arrow.NewMetadata([]string{"origin"}, []string{"arrow-go interop"})
	schema := arrow.NewSchema(typeMixSchema().Fields(), &metadata)
	sent := typeMixBatches(t, schema)
	descriptor := pathDescriptor("interop-go", "type-mix")
	appMetadata := [][]byte{[]byte("first batch"), []byte("second batch")}

	var info *flight.FlightInfo
	putDone := t.Run("DoPut stores the stream and acknowledges each batch's app_metadata", func(t *testing.T) {
		stream, err := client.DoPut(ctx)
		if err != nil {
			t.Fatal(err)
		}
		writer := flight.NewRecordWriter(stream, ipc.WithSchema(schema))
		writer.SetFlightDescriptor(descriptor)
		for i, batch := range sent {
			if err := writer.WriteWithAppMetadata(batch, appMetadata[i]); err != nil {
				t.Fatalf("writing batch %d: %v", i, err)
			}
		}
		if err := writer.Close(); err != nil {
			t.Fatal(err)
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
		results, err := recvUntilEOF(stream.Recv)
		if err != nil {
			t.Fatalf("DoPut failed: %v", err)
		}
		var acknowledged [][]byte
		for _, result := range results {
			acknowledged = append(acknowledged, result.AppMetadata)
		}
		if fmt.Sprintf("%q", acknowledged) != fmt.Sprintf("%q", appMetadata) {
			t.Fatalf("PutResults carried %q, want one per batch: %q", acknowledged, appMetadata)
		}
	})
	if !putDone {
		t.Fatal("DoPut failed; nothing to read back")
	}

	t.Run("ListFlights finds the flight", func(t *testing.T) {
		stream, err := client.ListFlights(ctx, &flight.Criteria{})
		if err != nil {
			t.Fatal(err)
		}
		infos, err := recvUntilEOF(stream.Recv)
		if err != nil {
			t.Fatal(err)
		}
		for _, listed := range infos {
			if listed.FlightDescriptor.GetType() == flight.DescriptorPATH &&
				fmt.Sprint(listed.FlightDescriptor.GetPath()) == fmt.Sprint(descriptor.Path) {
				checkFlightInfo(t, listed, schema, 8)
				return
			}
		}
		t.Fatalf("ListFlights returned %d flights, none at path %q", len(infos), descriptor.Path)
	})

	t.Run("GetFlightInfo describes the flight", func(t *testing.T) {
		var err error
		info, err = client.GetFlightInfo(ctx, descriptor)
		if err != nil {
			t.Fatal(err)
		}
		checkFlightInfo(t, info, schema, 8)
	})

	t.Run("GetSchema returns the schema sent", func(t *testing.T) {
		result, err := client.GetSchema(ctx, descriptor)
		if err != nil {
			t.Fatal(err)
		}
		got, err := flight.DeserializeSchema(result.GetSchema(), memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		checkSchemaEqual(t, got, schema)
	})

	t.Run("PollFlightInfo reports the flight complete", func(t *testing.T) {
		poll, err := client.PollFlightInfo(ctx, descriptor)
		if err != nil {
			t.Fatal(err)
		}
		if poll.GetProgress() != 1 {
			t.Fatalf("progress %v, want 1", poll.GetProgress())
		}
		checkFlightInfo(t, poll.GetInfo(), schema, 8)
	})

	t.Run("DoGet by the returned ticket gives back the batches sent", func(t *testing.T) {
		if info == nil || len(info.Endpoint) == 0 {
			t.Fatal("no ticket: GetFlightInfo failed")
		}
		stream, err := client.DoGet(ctx, info.Endpoint[0].GetTicket())
		if err != nil {
			t.Fatal(err)
		}
		gotSchema, got, err := readAllBatches(t, stream)
		if err != nil {
			t.Fatalf("DoGet failed: %v", err)
		}
		checkSchemaEqual(t, gotSchema, schema)
		if len(got) != len(sent) {
			t.Fatalf("got %d batches, want %d", len(got), len(sent))
		}
		for i := range sent {
			checkRecordEqual(t, got[i].record, sent[i])
			if !bytes.Equal(got[i].appMetadata, appMetadata[i]) {
				t.Errorf("batch %d app_metadata %q, want %q", i, got[i].appMetadata, appMetadata[i])
			}
		}
	})
}

func checkFlightInfo(t *testing.T, info *flight.FlightInfo, schema *arrow.Schema, rows int64) {
	t.Helper()
	got, err := flight.DeserializeSchema(info.GetSchema(), memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("FlightInfo schema: %v", err)
	}
	checkSchemaEqual(t, got, schema)
	if info.GetTotalRecords() != rows {
		t.Errorf("total_records %d, want %d", info.GetTotalRecords(), rows)
	}
	if len(info.GetEndpoint()) != 1 || len(info.Endpoint[0].GetTicket().GetTicket()) == 0 {
		t.Fatalf("want one endpoint with a ticket, got %v", info.GetEndpoint())
	}
	wantLocation := "grpc://" + serverAddr
	locations := info.Endpoint[0].GetLocation()
	if len(locations) != 1 || locations[0].GetUri() != wantLocation {
		t.Errorf("endpoint locations %v, want [%s]", locations, wantLocation)
	}
	if !info.GetOrdered() {
		t.Error("FlightInfo.ordered is false; the server stores batches in order")
	}
}

// checkSchemaEqual compares fields (names, types, nullability, field metadata) and the
// schema's own metadata, which arrow.Schema.Equal leaves out.
func checkSchemaEqual(t *testing.T, got, want *arrow.Schema) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("schema differs\n got: %s\nwant: %s", got, want)
	}
	gotMeta, wantMeta := got.Metadata(), want.Metadata()
	if !gotMeta.Equal(wantMeta) {
		t.Fatalf("schema metadata %v, want %v", gotMeta, wantMeta)
	}
}

func checkRecordEqual(t *testing.T, got, want arrow.RecordBatch) {
	t.Helper()
	if array.RecordEqual(got, want) {
		return
	}
	for i := range want.NumCols() {
		if !array.Equal(got.Column(int(i)), want.Column(int(i))) {
			t.Errorf("column %q differs\n got: %v\nwant: %v", want.ColumnName(int(i)), got.Column(int(i)), want.Column(int(i)))
		}
	}
	t.Fatalf("record batch differs (%d rows received, %d sent)", got.NumRows(), want.NumRows())
}
