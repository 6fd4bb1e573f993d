// Command loadgen is the serving benchmark's load generator: N workers, each in a loop
// opening a fresh DoExchange, sending one 1-row batch, reading its one result batch and
// closing the call, as a service client would. All workers share one gRPC connection.
// It warms up, then measures for a fixed time, and prints one JSON line with the
// throughput and the latency percentiles of the measured requests.
//
// Go because goroutines on a multiplexing gRPC client cost a few microseconds of CPU
// per request and use both cores, so at concurrency 64 the client is not the limit
// (a Node client shares one event loop with its codec; a Python client fights the GIL).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// fixedShapeTensor is the canonical arrow.fixed_shape_tensor extension type, which
// arrow-go does not ship: storage FixedSizeList<T>[prod(shape)], metadata {"shape":[...]}.
type fixedShapeTensor struct {
	arrow.ExtensionBase
	shape []int
}

type fixedShapeTensorArray struct{ array.ExtensionArrayBase }

func newFixedShapeTensor(elem arrow.DataType, shape []int) *fixedShapeTensor {
	size := 1
	for _, d := range shape {
		size *= d
	}
	return &fixedShapeTensor{ExtensionBase: arrow.ExtensionBase{Storage: arrow.FixedSizeListOf(int32(size), elem)}, shape: shape}
}

func (*fixedShapeTensor) ArrayType() reflect.Type { return reflect.TypeOf(fixedShapeTensorArray{}) }
func (*fixedShapeTensor) ExtensionName() string   { return "arrow.fixed_shape_tensor" }
func (t *fixedShapeTensor) Serialize() string {
	b, _ := json.Marshal(map[string][]int{"shape": t.shape})
	return string(b)
}
func (t *fixedShapeTensor) Deserialize(storage arrow.DataType, data string) (arrow.ExtensionType, error) {
	var meta struct{ Shape []int }
	if err := json.Unmarshal([]byte(data), &meta); err != nil {
		return nil, err
	}
	list, ok := storage.(*arrow.FixedSizeListType)
	if !ok {
		return nil, fmt.Errorf("fixed_shape_tensor storage must be a fixed-size list, got %s", storage)
	}
	return newFixedShapeTensor(list.Elem(), meta.Shape), nil
}
func (t *fixedShapeTensor) ExtensionEquals(o arrow.ExtensionType) bool {
	return o.ExtensionName() == t.ExtensionName() && o.Serialize() == t.Serialize()
}

// result is what one run prints.
type result struct {
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"rps"`
	P50us       float64 `json:"p50_us"`
	P99us       float64 `json:"p99_us"`
	MeanUs      float64 `json:"mean_us"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8815", "server host:port")
	path := flag.String("path", "mlp_small", "descriptor path, comma separated")
	column := flag.String("column", "x", "input column name")
	width := flag.Int("width", 32, "per-example tensor shape [width]")
	concurrency := flag.Int("c", 1, "concurrent workers")
	warmup := flag.Duration("warmup", time.Second, "warm-up time (not measured)")
	duration := flag.Duration("duration", 3*time.Second, "measured time")
	protocol := flag.String("protocol", "flight", "flight (a DoExchange per request) or v2 (a KServe V2 ModelInfer per request, model = -path, raw FP32 input [1, width])")
	flag.Parse()

	if err := arrow.RegisterExtensionType(newFixedShapeTensor(arrow.PrimitiveTypes.Float32, []int{*width})); err != nil {
		fail(err)
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	client := flight.NewFlightServiceClient(conn)
	descriptor := &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: strings.Split(*path, ",")}
	record := oneRow(*column, *width)
	defer record.Release()
	request := func() error { return call(client, descriptor, record) }
	switch *protocol {
	case "flight":
	case "v2":
		message := inferRequest(*path, *column, record)
		request = func() error { return callV2(conn, message) }
	default:
		fail(fmt.Errorf("-protocol must be flight or v2, got %q", *protocol))
	}

	// First call outside the clock: it also checks the server answers as expected. A
	// server prints its ready line before its runners load, so UNAVAILABLE is retried.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		err := request()
		if err == nil {
			break
		}
		if status.Code(err) != codes.Unavailable || time.Now().After(deadline) {
			fail(fmt.Errorf("first call failed: %w", err))
		}
	}

	var measuring atomic.Bool
	var errorsSeen atomic.Int64
	var firstError atomic.Value
	latencies := make([][]time.Duration, *concurrency)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				started := time.Now()
				err := request()
				took := time.Since(started)
				if !measuring.Load() {
					continue
				}
				if err != nil {
					errorsSeen.Add(1)
					firstError.CompareAndSwap(nil, err.Error())
					continue
				}
				latencies[w] = append(latencies[w], took)
			}
		}(w)
	}
	time.Sleep(*warmup)
	measuring.Store(true)
	started := time.Now()
	time.Sleep(*duration)
	measuring.Store(false)
	elapsed := time.Since(started)
	close(stop)
	wg.Wait()

	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	out := result{Concurrency: *concurrency, Requests: len(all), Errors: errorsSeen.Load(), Seconds: elapsed.Seconds(),
		RPS: float64(len(all)) / elapsed.Seconds()}
	if v := firstError.Load(); v != nil {
		out.FirstError = v.(string)
	}
	if len(all) > 0 {
		var sum time.Duration
		for _, d := range all {
			sum += d
		}
		out.P50us = us(percentile(all, 0.50))
		out.P99us = us(percentile(all, 0.99))
		out.MeanUs = us(sum / time.Duration(len(all)))
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

// call is one request: a fresh DoExchange, one 1-row batch, its one result, the end.
func call(client flight.FlightServiceClient, descriptor *flight.FlightDescriptor, record arrow.RecordBatch) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := client.DoExchange(ctx)
	if err != nil {
		return err
	}
	writer := flight.NewRecordWriter(stream, ipc.WithSchema(record.Schema()))
	writer.SetFlightDescriptor(descriptor)
	if err := writer.Write(record); err != nil {
		return err
	}
	if err := writer.Close(); err != nil {
		return err
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	reader, err := flight.NewRecordReader(stream)
	if err != nil {
		return err
	}
	defer reader.Release()
	rows := int64(0)
	batches := 0
	for reader.Next() {
		rows += reader.RecordBatch().NumRows()
		batches++
	}
	if err := reader.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if batches != 1 || rows != 1 {
		return fmt.Errorf("expected one 1-row batch, got %d batches and %d rows", batches, rows)
	}
	return nil
}

// rawCodec passes already-encoded protobuf messages through gRPC unchanged.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)      { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error { *(v.(*[]byte)) = append([]byte(nil), data...); return nil }
func (rawCodec) Name() string                       { return "proto" }

// inferRequest is a ModelInferRequest (field numbers of the KServe V2 .proto) for model
// `model` with input `name` FP32 [1, width], the record's values in raw_input_contents.
func inferRequest(model, name string, record arrow.RecordBatch) []byte {
	storage := record.Column(0).(array.ExtensionArray).Storage().(*array.FixedSizeList)
	values := storage.ListValues().(*array.Float32)
	raw := make([]byte, 0, 4*values.Len())
	for _, v := range values.Float32Values() {
		raw = protowire.AppendFixed32(raw, math.Float32bits(v))
	}
	var input []byte
	input = protowire.AppendTag(input, 1, protowire.BytesType)
	input = protowire.AppendString(input, name)
	input = protowire.AppendTag(input, 2, protowire.BytesType)
	input = protowire.AppendString(input, "FP32")
	shape := protowire.AppendVarint(protowire.AppendVarint(nil, 1), uint64(values.Len()))
	input = protowire.AppendTag(input, 3, protowire.BytesType)
	input = protowire.AppendBytes(input, shape)
	var msg []byte
	msg = protowire.AppendTag(msg, 1, protowire.BytesType)
	msg = protowire.AppendString(msg, model)
	msg = protowire.AppendTag(msg, 5, protowire.BytesType)
	msg = protowire.AppendBytes(msg, input)
	msg = protowire.AppendTag(msg, 7, protowire.BytesType)
	msg = protowire.AppendBytes(msg, raw)
	return msg
}

// callV2 is one ModelInfer; the answer must carry raw_output_contents (field 6).
func callV2(conn *grpc.ClientConn, message []byte) error {
	var answer []byte
	if err := conn.Invoke(context.Background(), "/inference.GRPCInferenceService/ModelInfer", &message, &answer, grpc.ForceCodec(rawCodec{})); err != nil {
		return err
	}
	for b := answer; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("malformed ModelInferResponse")
		}
		b = b[n:]
		if num == 6 && typ == protowire.BytesType {
			return nil
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return fmt.Errorf("malformed ModelInferResponse")
		}
		b = b[m:]
	}
	return fmt.Errorf("ModelInferResponse without raw_output_contents")
}

// oneRow is a batch of one example: column `name`, a fixed_shape_tensor of shape [width].
func oneRow(name string, width int) arrow.RecordBatch {
	typ := newFixedShapeTensor(arrow.PrimitiveTypes.Float32, []int{width})
	values := array.NewFloat32Builder(memory.DefaultAllocator)
	defer values.Release()
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < width; i++ {
		values.Append(rng.Float32()*2 - 1)
	}
	flat := values.NewArray()
	defer flat.Release()
	storage := array.NewFixedSizeListData(array.NewData(typ.StorageType(), 1, []*memory.Buffer{nil}, []arrow.ArrayData{flat.Data()}, 0, 0))
	defer storage.Release()
	column := array.NewExtensionArrayWithStorage(typ, storage)
	defer column.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: name, Type: typ, Nullable: false}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{column}, 1)
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}
