// Command callers is the overload bench's load generator (bench/overload): N callers,
// each in a loop calling the `slow` runner with a one-row batch x = call id and a
// deadline, as soon as its previous call settled; a caller refused with
// RESOURCE_EXHAUSTED waits -backoff first. It warms up with one call (id -1, outside
// the count), runs for -duration, and prints one JSON line: calls made, outcomes by
// gRPC status, one message per status, and the ids whose right answers arrived.
//
// Go because a Node client flooding 300 calls at once on this shared 2-core machine
// is itself the bottleneck: it reads answers too late, and the server gets blamed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
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
)

type report struct {
	Calls     int               `json:"calls"`
	Codes     map[string]int    `json:"codes"`
	Messages  map[string]string `json:"messages"`
	Delivered []int64           `json:"delivered"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8815", "server host:port")
	callers := flag.Int("c", 300, "concurrent callers")
	deadline := flag.Duration("deadline", time.Second, "deadline of each call")
	duration := flag.Duration("duration", 8*time.Second, "how long callers make new calls")
	backoff := flag.Duration("backoff", 50*time.Millisecond, "wait after RESOURCE_EXHAUSTED")
	flag.Parse()

	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	client := flight.NewFlightServiceClient(conn)
	descriptor := &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"slow"}}

	for until := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		err := call(context.Background(), client, descriptor, -1)
		if err == nil {
			break
		}
		if status.Code(err) != codes.Unavailable || time.Now().After(until) {
			fail(fmt.Errorf("warm-up call failed: %w", err))
		}
	}

	var mu sync.Mutex
	out := report{Codes: map[string]int{}, Messages: map[string]string{}, Delivered: []int64{}}
	next := int64(0)
	end := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for w := 0; w < *callers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				mu.Lock()
				id := next
				next++
				mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), *deadline)
				err := call(ctx, client, descriptor, id)
				cancel()
				mu.Lock()
				out.Calls++
				name := codeName(err)
				out.Codes[name]++
				if err == nil {
					out.Delivered = append(out.Delivered, id)
				} else if _, ok := out.Messages[name]; !ok {
					out.Messages[name] = err.Error()
				}
				mu.Unlock()
				if status.Code(err) == codes.ResourceExhausted {
					time.Sleep(*backoff)
				}
			}
		}()
	}
	wg.Wait()
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

// codeName is the gRPC status name as the project writes it (OK, DEADLINE_EXCEEDED, ...).
func codeName(err error) string {
	names := map[codes.Code]string{
		codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
		codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
		codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
	}
	if n, ok := names[status.Code(err)]; ok {
		return n
	}
	return status.Code(err).String()
}

// call is one request: a fresh DoExchange, one 1-row batch x = id, its answer y = 2 id.
func call(ctx context.Context, client flight.FlightServiceClient, descriptor *flight.FlightDescriptor, id int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.DoExchange(ctx)
	if err != nil {
		return err
	}
	record := oneRow(float64(id))
	defer record.Release()
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
	var ys []float64
	for reader.Next() {
		col, ok := reader.RecordBatch().Column(0).(*array.Float64)
		if !ok {
			return fmt.Errorf("answer column is %s, expected float64", reader.RecordBatch().Column(0).DataType())
		}
		ys = append(ys, col.Float64Values()...)
	}
	if err := reader.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if len(ys) != 1 || ys[0] != 2*float64(id) {
		return status.Errorf(codes.DataLoss, "call %d: expected [%v], got %v", id, 2*float64(id), ys)
	}
	return nil
}

func oneRow(x float64) arrow.RecordBatch {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.Append(x)
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{col}, 1)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "callers:", err)
	os.Exit(1)
}
