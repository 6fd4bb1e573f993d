package interop

// The runner protocol (docs/protocol.md) from a plain arrow-go client: the runner server
// (node bin/flight-runner.js serve examples/serve.yaml --port 0) is started by
// TestRunnerServer, which runs every check below as a subtest and stops the server with
// SIGTERM at the end, expecting a clean exit. The same calls are made by the example
// program examples/go, which is also run against the server and its output checked.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

const (
	runnerReadyTimeout = 2 * time.Minute
	// `go run` of the example may compile it first.
	exampleTimeout = 5 * time.Minute
)

// startRunnerServer starts `flight-runner serve examples/serve.yaml --port 0` and waits
// until every runner is ready.
func startRunnerServer(t *testing.T) (*serverProcess, string) {
	t.Helper()
	server, addr, err := startServerProcess("runner server", "serve", "examples/serve.yaml", "--port", "0")
	if err != nil {
		t.Fatal(err)
	}

	// Runners load in the background: poll health until all are ready.
	client := runnerClient(t, addr)
	deadline := time.Now().Add(runnerReadyTimeout)
	for {
		bodies, err := doAction(t, client, "health", nil)
		if err != nil {
			server.kill()
			t.Fatalf("health: %v", err)
		}
		var health struct {
			Ready   bool              `json:"ready"`
			Runners map[string]string `json:"runners"`
		}
		if err := json.Unmarshal(bodies[0], &health); err != nil {
			server.kill()
			t.Fatalf("health body %q: %v", bodies[0], err)
		}
		if health.Ready {
			break
		}
		if time.Now().After(deadline) {
			server.kill()
			t.Fatalf("runners not ready within %s: %s; stderr:\n%s", runnerReadyTimeout, bodies[0], server.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return server, addr
}

func runnerClient(t *testing.T, addr string) flight.Client {
	t.Helper()
	client, err := flight.NewClientWithMiddleware(addr, nil, nil,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)),
	)
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// tensorField is an arrow.fixed_shape_tensor column: FixedSizeList storage with the
// extension's name and metadata on the field (arrow-go v18.8 has no built-in type for it).
func tensorField(name string, elem arrow.DataType, shape ...int) arrow.Field {
	size := 1
	for _, d := range shape {
		size *= d
	}
	meta, _ := json.Marshal(map[string][]int{"shape": shape})
	return arrow.Field{
		Name: name, Type: arrow.FixedSizeListOf(int32(size), elem),
		Metadata: arrow.NewMetadata([]string{"ARROW:extension:name", "ARROW:extension:metadata"},
			[]string{"arrow.fixed_shape_tensor", string(meta)}),
	}
}

// float32Rows is one batch of a single FixedSizeList<float32> column (field decides the type).
func float32Rows(t *testing.T, field arrow.Field, rows [][]float32) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{field}, nil))
	defer b.Release()
	list := b.Field(0).(*array.FixedSizeListBuilder)
	values := list.ValueBuilder().(*array.Float32Builder)
	for _, row := range rows {
		list.Append(true)
		values.AppendValues(row, nil)
	}
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return rec
}

type applicant struct {
	income, debt float64
	age          int64
}

func applicantsBatch(t *testing.T, ageType arrow.DataType, rows []applicant) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "income", Type: arrow.PrimitiveTypes.Float64},
		{Name: "debt", Type: arrow.PrimitiveTypes.Float64},
		{Name: "age", Type: ageType},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Float64Builder).Append(r.income)
		b.Field(1).(*array.Float64Builder).Append(r.debt)
		switch age := b.Field(2).(type) {
		case *array.Int64Builder:
			age.Append(r.age)
		case *array.Int32Builder:
			age.Append(int32(r.age))
		default:
			t.Fatalf("age type %s not handled", ageType)
		}
	}
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return rec
}

// loanScore is examples/runners/loan-scorer.ts in Go.
func loanScore(a applicant) float64 {
	z := 1.5*math.Log1p(a.income/10_000) - 2.5*(a.debt/math.Max(a.income, 1)) + 0.01*float64(a.age-40) - 2
	return 1 / (1 + math.Exp(-z))
}

// runnerExchange sends the batches to the descriptor in one DoExchange, each with
// app_metadata "0", "1", ..., and returns the answers.
func runnerExchange(t *testing.T, client flight.Client, desc *flight.FlightDescriptor, batches ...arrow.RecordBatch) (*arrow.Schema, []receivedBatch, error) {
	t.Helper()
	stream, err := client.DoExchange(callContext(t))
	if err != nil {
		return nil, nil, err
	}
	sent := make(chan error, 1)
	go func() {
		writer := flight.NewRecordWriter(stream, ipc.WithSchema(batches[0].Schema()))
		writer.SetFlightDescriptor(desc)
		for i, batch := range batches {
			if err := writer.WriteWithAppMetadata(batch, []byte(fmt.Sprint(i))); err != nil {
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
	schema, got, err := readAllBatches(t, stream)
	if err != nil {
		return nil, nil, err
	}
	// A failed call can leave the sender blocked on a closed stream; only wait for it on success.
	if err := <-sent; err != nil {
		return nil, nil, err
	}
	return schema, got, nil
}

// expectedIris is examples/models/expected.json's iris entry: its flowers, labels and probabilities.
func expectedIris(t *testing.T) (rows [][]float32, labels []int64, probs [][]float32, tolerance float64) {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "examples", "models", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	type tensor struct {
		Shape []int     `json:"shape"`
		Data  []float64 `json:"data"`
	}
	// Only iris is decoded: other models hold other data (greeter's are strings).
	var doc struct {
		Tolerance map[string]float64         `json:"tolerance"`
		Models    map[string]json.RawMessage `json:"models"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var iris struct {
		Inputs  map[string]tensor `json:"inputs"`
		Outputs map[string]tensor `json:"outputs"`
	}
	if err := json.Unmarshal(doc.Models["iris"], &iris); err != nil {
		t.Fatal(err)
	}
	split := func(tn tensor) [][]float32 {
		width := tn.Shape[1]
		out := make([][]float32, tn.Shape[0])
		for i := range out {
			for _, v := range tn.Data[i*width : (i+1)*width] {
				out[i] = append(out[i], float32(v))
			}
		}
		return out
	}
	for _, v := range iris.Outputs["label"].Data {
		labels = append(labels, int64(v))
	}
	return split(iris.Inputs["features"]), labels, split(iris.Outputs["probabilities"]), doc.Tolerance["float32"]
}

func int64Column(t *testing.T, rec arrow.RecordBatch, name string) []int64 {
	t.Helper()
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("no column %q in %s", name, rec.Schema())
	}
	col, ok := rec.Column(idx[0]).(*array.Int64)
	if !ok {
		t.Fatalf("column %q is %s, want int64", name, rec.Column(idx[0]).DataType())
	}
	return append([]int64(nil), col.Int64Values()...)
}

func TestRunnerServer(t *testing.T) {
	server, addr := startRunnerServer(t)
	t.Cleanup(func() {
		if err := server.stop(); err != nil {
			t.Error(err)
		}
	})
	client := runnerClient(t, addr)
	irisRows, irisLabels, irisProbs, tolerance := expectedIris(t)

	t.Run("ListFlightsGivesOneInfoPerMethod", func(t *testing.T) {
		stream, err := client.ListFlights(callContext(t), &flight.Criteria{})
		if err != nil {
			t.Fatal(err)
		}
		infos, err := recvUntilEOF(stream.Recv)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"iris/predict", "iris/predict_proba", "tensor_model/predict", "mlp_small/predict",
			"scaler_fp16/predict", "loan_scorer/score", "text_tools/stats", "text_tools/concat"}
		var got []string
		for _, info := range infos {
			desc := info.GetFlightDescriptor()
			if desc.GetType() != flight.DescriptorPATH || len(desc.GetPath()) != 2 {
				t.Fatalf("descriptor %v, want PATH [runner, method]", desc)
			}
			path := strings.Join(desc.GetPath(), "/")
			got = append(got, path)
			if info.GetTotalRecords() != -1 || info.GetTotalBytes() != -1 {
				t.Errorf("%s: total_records %d total_bytes %d, want -1", path, info.GetTotalRecords(), info.GetTotalBytes())
			}
			var sig struct {
				Runner string `json:"runner"`
				Method string `json:"method"`
			}
			if err := json.Unmarshal(info.GetAppMetadata(), &sig); err != nil || sig.Runner+"/"+sig.Method != path {
				t.Errorf("%s: app_metadata %q (%v)", path, info.GetAppMetadata(), err)
			}
			if _, err := flight.DeserializeSchema(info.GetSchema(), memory.DefaultAllocator); err != nil {
				t.Errorf("%s: schema: %v", path, err)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("listed %v, want %v", got, want)
		}
	})

	t.Run("IrisInputSchemaIsAFixedShapeTensor", func(t *testing.T) {
		info, err := client.GetFlightInfo(callContext(t), pathDescriptor("iris", "predict"))
		if err != nil {
			t.Fatal(err)
		}
		schema, err := flight.DeserializeSchema(info.GetSchema(), memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		field := schema.Field(0)
		name, _ := field.Metadata.GetValue("ARROW:extension:name")
		meta, _ := field.Metadata.GetValue("ARROW:extension:metadata")
		var shape struct {
			Shape []int `json:"shape"`
		}
		list, isList := field.Type.(*arrow.FixedSizeListType)
		if field.Name != "features" || name != "arrow.fixed_shape_tensor" || json.Unmarshal([]byte(meta), &shape) != nil ||
			fmt.Sprint(shape.Shape) != "[4]" || !isList || list.Len() != 4 || !arrow.TypeEqual(list.Elem(), arrow.PrimitiveTypes.Float32) {
			t.Fatalf("iris input field %s (extension %q %q)", field, name, meta)
		}
	})

	t.Run("IrisPredictWithAFixedShapeTensorGivesTheExpectedLabels", func(t *testing.T) {
		batch := float32Rows(t, tensorField("features", arrow.PrimitiveTypes.Float32, 4), irisRows)
		schema, got, err := runnerExchange(t, client, pathDescriptor("iris", "predict"), batch)
		if err != nil {
			t.Fatal(err)
		}
		if schema.NumFields() != 1 || schema.Field(0).Name != "label" {
			t.Fatalf("output schema %s", schema)
		}
		if len(got) != 1 {
			t.Fatalf("%d answers to one batch", len(got))
		}
		if labels := int64Column(t, got[0].record, "label"); fmt.Sprint(labels) != fmt.Sprint(irisLabels) {
			t.Fatalf("labels %v, want %v (examples/models/expected.json)", labels, irisLabels)
		}
		if string(got[0].appMetadata) != "0" {
			t.Errorf("app_metadata %q, want %q", got[0].appMetadata, "0")
		}
	})

	t.Run("IrisDefaultMethodWithAPlainFixedSizeList", func(t *testing.T) {
		field := arrow.Field{Name: "features", Type: arrow.FixedSizeListOf(4, arrow.PrimitiveTypes.Float32)}
		// Each flower alone, in one exchange: the answers come back in order.
		var batches []arrow.RecordBatch
		for _, row := range irisRows {
			batches = append(batches, float32Rows(t, field, [][]float32{row}))
		}
		_, got, err := runnerExchange(t, client, pathDescriptor("iris"), batches...)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(batches) {
			t.Fatalf("%d answers to %d batches", len(got), len(batches))
		}
		for i, answer := range got {
			if labels := int64Column(t, answer.record, "label"); len(labels) != 1 || labels[0] != irisLabels[i] {
				t.Errorf("flower %d: labels %v, want [%d]", i, labels, irisLabels[i])
			}
			if string(answer.appMetadata) != fmt.Sprint(i) {
				t.Errorf("answer %d carries app_metadata %q", i, answer.appMetadata)
			}
		}
	})

	t.Run("IrisPredictProbaMatchesOnnxruntime", func(t *testing.T) {
		batch := float32Rows(t, tensorField("features", arrow.PrimitiveTypes.Float32, 4), irisRows)
		_, got, err := runnerExchange(t, client, pathDescriptor("iris", "predict_proba"), batch)
		if err != nil {
			t.Fatal(err)
		}
		rec := got[0].record
		field := rec.Schema().Field(0)
		if name, _ := field.Metadata.GetValue("ARROW:extension:name"); field.Name != "probabilities" || name != "arrow.fixed_shape_tensor" {
			t.Fatalf("output field %s", field)
		}
		list := rec.Column(0).(*array.FixedSizeList)
		values := list.ListValues().(*array.Float32).Float32Values()
		for i, want := range irisProbs {
			for j, p := range want {
				if d := math.Abs(float64(values[(list.Offset()+i)*3+j] - p)); d > tolerance {
					t.Errorf("flower %d class %d: %v, want %v (±%g)", i, j, values[(list.Offset()+i)*3+j], p, tolerance)
				}
			}
		}
	})

	t.Run("LoanScorerScoresATableInBatches", func(t *testing.T) {
		rows := []applicant{{85_000, 5_000, 35}, {20_000, 30_000, 52}, {52_000, 12_000, 61}, {31_000, 2_500, 23}, {120_000, 90_000, 44}}
		// int64 is the declared type of age; int32 widens to it safely.
		for _, ageType := range []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int32} {
			batches := []arrow.RecordBatch{applicantsBatch(t, ageType, rows[:2]), applicantsBatch(t, ageType, rows[2:])}
			schema, got, err := runnerExchange(t, client, pathDescriptor("loan_scorer", "score"), batches...)
			if err != nil {
				t.Fatalf("age %s: %v", ageType, err)
			}
			if schema.NumFields() != 2 || schema.Field(0).Name != "score" || schema.Field(1).Name != "approved" {
				t.Fatalf("output schema %s", schema)
			}
			if len(got) != 2 || got[0].record.NumRows() != 2 || got[1].record.NumRows() != 3 {
				t.Fatalf("answers: %d", len(got))
			}
			i := 0
			for _, answer := range got {
				scores := answer.record.Column(0).(*array.Float64)
				approved := answer.record.Column(1).(*array.Boolean)
				for r := 0; r < scores.Len(); r++ {
					want := loanScore(rows[i])
					if math.Abs(scores.Value(r)-want) > 1e-12 || approved.Value(r) != (want >= 0.5) {
						t.Errorf("age %s, applicant %d: score %v approved %v, want %v", ageType, i, scores.Value(r), approved.Value(r), want)
					}
					i++
				}
			}
		}
	})

	t.Run("ErrorsAreStatusCodesNamingWhatIsWrong", func(t *testing.T) {
		flowers := float32Rows(t, tensorField("features", arrow.PrimitiveTypes.Float32, 4), irisRows)
		_, _, err := runnerExchange(t, client, pathDescriptor("no_such_runner", "predict"), flowers)
		requireStatus(t, err, codes.NotFound, "no_such_runner", "'iris'", "'loan_scorer'")
		_, _, err = runnerExchange(t, client, pathDescriptor("iris", "no_such_method"), flowers)
		requireStatus(t, err, codes.NotFound, "'iris'", "no_such_method", "'predict_proba'")
		wrongShape := float32Rows(t, tensorField("features", arrow.PrimitiveTypes.Float32, 2, 2), irisRows)
		_, _, err = runnerExchange(t, client, pathDescriptor("iris", "predict"), wrongShape)
		requireStatus(t, err, codes.InvalidArgument, "runner 'iris' method 'predict'", "column 'features'", "[2,2]")
		renamed := float32Rows(t, tensorField("x", arrow.PrimitiveTypes.Float32, 4), irisRows)
		_, _, err = runnerExchange(t, client, pathDescriptor("iris", "predict"), renamed)
		requireStatus(t, err, codes.InvalidArgument, "missing input column 'features'", "received 'x'")
		// The server keeps serving.
		if _, _, err := runnerExchange(t, client, pathDescriptor("iris", "predict"), flowers); err != nil {
			t.Fatalf("a good call after errors: %v", err)
		}
	})

	t.Run("ModelMetadataUsesKServeDatatypes", func(t *testing.T) {
		bodies, err := doAction(t, client, "model-metadata", []byte(`{"runner": "iris"}`))
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			Inputs []struct {
				Name     string `json:"name"`
				Datatype string `json:"datatype"`
				Shape    []int  `json:"shape"`
			} `json:"inputs"`
			Outputs []struct {
				Name     string `json:"name"`
				Datatype string `json:"datatype"`
			} `json:"outputs"`
		}
		if err := json.Unmarshal(bodies[0], &meta); err != nil {
			t.Fatal(err)
		}
		if len(meta.Inputs) != 1 || meta.Inputs[0].Datatype != "FP32" || fmt.Sprint(meta.Inputs[0].Shape) != "[-1 4]" ||
			len(meta.Outputs) != 1 || meta.Outputs[0].Datatype != "INT64" {
			t.Fatalf("iris model metadata %s", bodies[0])
		}
	})

	t.Run("ExampleProgram", func(t *testing.T) {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), exampleTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "run", ".", "grpc://"+addr)
		cmd.Dir = filepath.Join(root, "examples", "go")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) || ctx.Err() != nil {
				t.Fatalf("examples/go: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
			}
			t.Fatal(err)
		}
		stdout := string(out)
		for _, method := range []string{"iris/predict (default)", "iris/predict_proba", "loan_scorer/score (default)", "text_tools/concat (not batchable)"} {
			if !strings.Contains(stdout, "  "+method) {
				t.Errorf("the listing lacks %s:\n%s", method, stdout)
			}
		}
		// The example's flowers are expected.json's; so are its labels.
		if want := fmt.Sprintf("iris/predict labels: %v\n", irisLabels); !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
		proba := regexp.MustCompile(`(?m)^iris/predict_proba \[.*\] -> \[([0-9.]+) ([0-9.]+) ([0-9.]+)\]$`).FindAllStringSubmatch(stdout, -1)
		if len(proba) != len(irisProbs) {
			t.Fatalf("%d probability lines, want %d:\n%s", len(proba), len(irisProbs), stdout)
		}
		for i, m := range proba {
			for j := 0; j < 3; j++ {
				var p float64
				fmt.Sscan(m[j+1], &p)
				if math.Abs(p-float64(irisProbs[i][j])) > 0.00005+tolerance {
					t.Errorf("flower %d class %d printed %v, want %v", i, j, p, irisProbs[i][j])
				}
			}
		}
		scores := regexp.MustCompile(`(?m)^loan_scorer/score income=(\d+) debt=(\d+) age=(\d+) -> score=([0-9.]+) approved=(true|false)$`).FindAllStringSubmatch(stdout, -1)
		if len(scores) != 5 || !strings.Contains(stdout, "loan_scorer/score: 5 applicants, ") {
			t.Fatalf("%d score lines, want 5:\n%s", len(scores), stdout)
		}
		for _, m := range scores {
			var a applicant
			var got float64
			fmt.Sscan(m[1], &a.income)
			fmt.Sscan(m[2], &a.debt)
			fmt.Sscan(m[3], &a.age)
			fmt.Sscan(m[4], &got)
			want := loanScore(a)
			if math.Abs(got-want) > 5e-7 || (m[5] == "true") != (want >= 0.5) {
				t.Errorf("%s: want score %.6f approved %t", m[0], want, want >= 0.5)
			}
		}
	})
}
