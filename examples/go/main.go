// Command runner-client calls flight-runner runners from Go with a plain arrow-go Flight
// client: no flight-runner code. See docs/protocol.md.
//
//	go run . grpc://127.0.0.1:8815
//
// It lists every runner method (ListFlights; the signature is JSON in app_metadata),
// classifies iris flowers with iris/predict (a fixed_shape_tensor column), reads class
// probabilities from iris/predict_proba, and scores a small table of loan applicants
// with loan_scorer/score. A call is a DoExchange on the PATH [runner, method]; the
// columns of the batches sent are the method's arguments.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The flowers of examples/models/expected.json, one row each.
var flowers = [][4]float32{
	{5.1, 3.5, 1.4, 0.2},
	{4.9, 3.0, 1.4, 0.2},
	{6.0, 2.7, 4.5, 1.4},
	{5.7, 2.9, 4.2, 1.3},
	{6.5, 3.0, 5.8, 2.2},
	{7.1, 3.0, 5.9, 2.1},
}

var mem = memory.DefaultAllocator

// fixedShapeTensorField is a column of the canonical extension type arrow.fixed_shape_tensor:
// the storage is FixedSizeList<elem>[product of shape], and the extension's name and
// metadata travel on the field. (arrow-go v18.8 has no built-in type for it; a reader
// that does not know the extension sees the storage and the same field metadata.)
func fixedShapeTensorField(name string, elem arrow.DataType, shape ...int) arrow.Field {
	size := 1
	for _, d := range shape {
		size *= d
	}
	meta, _ := json.Marshal(map[string][]int{"shape": shape})
	return arrow.Field{
		Name: name,
		Type: arrow.FixedSizeListOf(int32(size), elem),
		Metadata: arrow.NewMetadata(
			[]string{"ARROW:extension:name", "ARROW:extension:metadata"},
			[]string{"arrow.fixed_shape_tensor", string(meta)},
		),
	}
}

// FlowersRecord is one batch with the column iris expects: features, tensor<float32>[4].
func FlowersRecord(rows [][4]float32) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{fixedShapeTensorField("features", arrow.PrimitiveTypes.Float32, 4)}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	list := b.Field(0).(*array.FixedSizeListBuilder)
	values := list.ValueBuilder().(*array.Float32Builder)
	for _, row := range rows {
		list.Append(true)
		values.AppendValues(row[:], nil)
	}
	return b.NewRecordBatch()
}

// Applicant is one row of loan_scorer's table input.
type Applicant struct {
	Income, Debt float64
	Age          int64
}

// ApplicantsRecord is one batch of a table with the columns loan_scorer declares.
func ApplicantsRecord(rows []Applicant) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "income", Type: arrow.PrimitiveTypes.Float64},
		{Name: "debt", Type: arrow.PrimitiveTypes.Float64},
		{Name: "age", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Float64Builder).Append(r.Income)
		b.Field(1).(*array.Float64Builder).Append(r.Debt)
		b.Field(2).(*array.Int64Builder).Append(r.Age)
	}
	return b.NewRecordBatch()
}

// Connect dials a grpc://host:port location.
func Connect(location string) (flight.Client, error) {
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "grpc" || u.Host == "" {
		return nil, fmt.Errorf("expected a location grpc://HOST:PORT, got %q", location)
	}
	return flight.NewClientWithMiddleware(u.Host, nil, nil,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Flight messages are whole record batches: lift gRPC's 4 MiB default.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)),
	)
}

// Signature is the JSON a FlightInfo carries in app_metadata (the fields used here).
type Signature struct {
	Runner    string            `json:"runner"`
	Method    string            `json:"method"`
	Default   bool              `json:"default"`
	Batchable bool              `json:"batchable"`
	Inputs    []json.RawMessage `json:"inputs"`
	Outputs   []json.RawMessage `json:"outputs"`
}

// ListMethods returns the signature of every runner method the server lists.
func ListMethods(ctx context.Context, client flight.Client) ([]Signature, error) {
	stream, err := client.ListFlights(ctx, &flight.Criteria{})
	if err != nil {
		return nil, err
	}
	var sigs []Signature
	for {
		info, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return sigs, nil
		}
		if err != nil {
			return nil, err
		}
		var sig Signature
		if err := json.Unmarshal(info.GetAppMetadata(), &sig); err != nil {
			return nil, fmt.Errorf("signature of %v: %w", info.GetFlightDescriptor().GetPath(), err)
		}
		sigs = append(sigs, sig)
	}
}

// Call sends the batches to [runner, method] in one DoExchange and returns the answers,
// one per batch, in order. The caller releases them.
func Call(ctx context.Context, client flight.Client, runner, method string, batches ...arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	if len(batches) == 0 {
		return nil, errors.New("no batch to send")
	}
	stream, err := client.DoExchange(ctx)
	if err != nil {
		return nil, err
	}
	// Send from a goroutine: the server answers while it reads, so a client that reads
	// only after sending everything could stall once the flow-control windows fill.
	sent := make(chan error, 1)
	go func() {
		writer := flight.NewRecordWriter(stream, ipc.WithSchema(batches[0].Schema()))
		writer.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{runner, method}})
		for _, batch := range batches {
			if err := writer.Write(batch); err != nil {
				sent <- err
				return
			}
		}
		if err := writer.Close(); err != nil {
			sent <- err
			return
		}
		sent <- stream.CloseSend()
	}()
	reader, err := flight.NewRecordReader(stream)
	if err != nil {
		return nil, err
	}
	defer reader.Release()
	var out []arrow.RecordBatch
	for reader.Next() {
		rec := reader.RecordBatch()
		rec.Retain()
		out = append(out, rec)
	}
	if err := reader.Err(); err != nil {
		for _, r := range out {
			r.Release()
		}
		return nil, err
	}
	if err := <-sent; err != nil {
		return nil, err
	}
	return out, nil
}

// Labels runs iris/predict on the flowers.
func Labels(ctx context.Context, client flight.Client, rows [][4]float32) ([]int64, error) {
	in := FlowersRecord(rows)
	defer in.Release()
	out, err := Call(ctx, client, "iris", "predict", in)
	if err != nil {
		return nil, err
	}
	defer out[0].Release()
	col, ok := out[0].Column(0).(*array.Int64)
	if !ok || out[0].ColumnName(0) != "label" {
		return nil, fmt.Errorf("unexpected answer schema %s", out[0].Schema())
	}
	return append([]int64(nil), col.Int64Values()...), nil
}

// Probabilities runs iris/predict_proba: one [3] float32 vector per flower.
func Probabilities(ctx context.Context, client flight.Client, rows [][4]float32) ([][]float32, error) {
	in := FlowersRecord(rows)
	defer in.Release()
	out, err := Call(ctx, client, "iris", "predict_proba", in)
	if err != nil {
		return nil, err
	}
	defer out[0].Release()
	field := out[0].Schema().Field(0)
	if name, _ := field.Metadata.GetValue("ARROW:extension:name"); name != "arrow.fixed_shape_tensor" {
		return nil, fmt.Errorf("probabilities is not a fixed_shape_tensor column: %s", field)
	}
	list := out[0].Column(0).(*array.FixedSizeList)
	values := list.ListValues().(*array.Float32).Float32Values()
	size := int(list.DataType().(*arrow.FixedSizeListType).Len())
	probs := make([][]float32, list.Len())
	for i := range probs {
		probs[i] = append([]float32(nil), values[(list.Offset()+i)*size:(list.Offset()+i+1)*size]...)
	}
	return probs, nil
}

// Score is loan_scorer's answer for one applicant.
type Score struct {
	Score    float64
	Approved bool
}

// ScoreApplicants streams the applicants through loan_scorer/score in batches of batchRows.
func ScoreApplicants(ctx context.Context, client flight.Client, rows []Applicant, batchRows int) ([]Score, error) {
	var batches []arrow.RecordBatch
	for start := 0; start < len(rows); start += batchRows {
		batches = append(batches, ApplicantsRecord(rows[start:min(start+batchRows, len(rows))]))
	}
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	out, err := Call(ctx, client, "loan_scorer", "score", batches...)
	if err != nil {
		return nil, err
	}
	var scores []Score
	for i, rec := range out {
		if rec.NumRows() != batches[i].NumRows() {
			return nil, fmt.Errorf("batch %d: %d rows in, %d out", i, batches[i].NumRows(), rec.NumRows())
		}
		score := rec.Column(0).(*array.Float64)
		approved := rec.Column(1).(*array.Boolean)
		for r := 0; r < int(rec.NumRows()); r++ {
			scores = append(scores, Score{Score: score.Value(r), Approved: approved.Value(r)})
		}
		rec.Release()
	}
	return scores, nil
}

func run(location string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := Connect(location)
	if err != nil {
		return err
	}
	defer client.Close()

	sigs, err := ListMethods(ctx, client)
	if err != nil {
		return fmt.Errorf("ListFlights: %w", err)
	}
	fmt.Println("runner methods:")
	for _, s := range sigs {
		flags := ""
		if s.Default {
			flags += " (default)"
		}
		if !s.Batchable {
			flags += " (not batchable)"
		}
		fmt.Printf("  %s/%s%s: inputs %s -> outputs %s\n", s.Runner, s.Method, flags, joinRaw(s.Inputs), joinRaw(s.Outputs))
	}

	labels, err := Labels(ctx, client, flowers)
	if err != nil {
		return fmt.Errorf("iris/predict: %w", err)
	}
	fmt.Printf("iris/predict labels: %v\n", labels)

	probs, err := Probabilities(ctx, client, flowers)
	if err != nil {
		return fmt.Errorf("iris/predict_proba: %w", err)
	}
	for i, p := range probs {
		fmt.Printf("iris/predict_proba %v -> [%.4f %.4f %.4f]\n", flowers[i], p[0], p[1], p[2])
	}

	applicants := []Applicant{
		{Income: 85_000, Debt: 5_000, Age: 35},
		{Income: 20_000, Debt: 30_000, Age: 52},
		{Income: 52_000, Debt: 12_000, Age: 61},
		{Income: 31_000, Debt: 2_500, Age: 23},
		{Income: 120_000, Debt: 90_000, Age: 44},
	}
	scores, err := ScoreApplicants(ctx, client, applicants, 2)
	if err != nil {
		return fmt.Errorf("loan_scorer/score: %w", err)
	}
	approved := 0
	for i, s := range scores {
		a := applicants[i]
		fmt.Printf("loan_scorer/score income=%.0f debt=%.0f age=%d -> score=%.6f approved=%t\n", a.Income, a.Debt, a.Age, s.Score, s.Approved)
		if s.Approved {
			approved++
		}
	}
	fmt.Printf("loan_scorer/score: %d applicants, %d approved\n", len(scores), approved)
	return nil
}

func joinRaw(items []json.RawMessage) string {
	parts := make([]string, len(items))
	for i, item := range items {
		parts[i] = string(item)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: runner-client grpc://HOST:PORT")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
