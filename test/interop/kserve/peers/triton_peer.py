"""NVIDIA Triton (the tritonserver binary nvidia-pytriton bundles) serving Python-function
models, for the kserve backend's tests and bench/oip.

    .venv-triton/bin/python test/interop/kserve/peers/triton_peer.py --grpc-port 8001 --http-port 8000 --models test
    .venv-triton/bin/python test/interop/kserve/peers/triton_peer.py ... --models bench --onnx examples/models/mlp_small.onnx

`--models test` binds:
- `types` (max_batch_size 64): f16 FP16[2] -> f16_out = f16 * 2; i64 INT64[1] -> i64_out = i64 * 3 - 1;
  flag BOOL[3] -> flag_out = not flag; text BYTES[1] -> text_out = text upper-cased + b"!";
  u8 UINT8[2] -> u8_out = 255 - u8; rows INT32[1] = the rows of the batch the model ran.
  A batch holding the text "hold" takes 2 s.
- `small_batch` (max_batch_size 4): x FP32[4] -> y = x + 1; rows INT32[1] as above.
`--models bench` binds `mlp_small` (the ONNX model run with onnxruntime, one intra-op
thread, dynamic batching up to 64 rows).

Prints "READY" once Triton serves. Stops on SIGTERM or SIGINT.
"""

import argparse
import os
import signal
import sys
import sysconfig
import threading
import time


def fix_library_path():
    """pytriton's Python backend loads libpython3.11.so by name; with a pyenv interpreter
    Debian's is found first and fails ('_thread.RLock' object has no attribute
    '_recursion_count'). This interpreter's own LIBDIR must come first, for the children."""
    libdir = sysconfig.get_config_var("LIBDIR")
    parts = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]
    if libdir and (not parts or parts[0] != libdir):
        os.environ["LD_LIBRARY_PATH"] = ":".join([libdir, *parts])


def bind_test_models(triton, np, ModelConfig, Tensor, batch):
    @batch
    def types_model(f16, i64, flag, text, u8):
        rows = f16.shape[0]
        if any(bytes(t) == b"hold" for row in text for t in row):
            # For the batching test: keeps the one flight-runner instance busy while others queue.
            time.sleep(2)
        upper = np.array([[bytes(t).upper() + b"!" for t in row] for row in text], dtype=np.object_)
        return {
            "f16_out": (f16 * np.float16(2)).astype(np.float16),
            "i64_out": i64 * 3 - 1,
            "flag_out": np.logical_not(flag),
            "text_out": upper,
            "u8_out": (255 - u8).astype(np.uint8),
            "rows": np.full((rows, 1), rows, dtype=np.int32),
        }

    triton.bind(
        model_name="types",
        infer_func=types_model,
        inputs=[
            Tensor(name="f16", dtype=np.float16, shape=(2,)),
            Tensor(name="i64", dtype=np.int64, shape=(1,)),
            Tensor(name="flag", dtype=np.bool_, shape=(3,)),
            Tensor(name="text", dtype=np.bytes_, shape=(1,)),
            Tensor(name="u8", dtype=np.uint8, shape=(2,)),
        ],
        outputs=[
            Tensor(name="f16_out", dtype=np.float16, shape=(2,)),
            Tensor(name="i64_out", dtype=np.int64, shape=(1,)),
            Tensor(name="flag_out", dtype=np.bool_, shape=(3,)),
            Tensor(name="text_out", dtype=np.bytes_, shape=(1,)),
            Tensor(name="u8_out", dtype=np.uint8, shape=(2,)),
            Tensor(name="rows", dtype=np.int32, shape=(1,)),
        ],
        config=ModelConfig(max_batch_size=64),
        strict=True,
    )

    @batch
    def small_batch_model(x):
        rows = x.shape[0]
        return {"y": (x + np.float32(1)).astype(np.float32), "rows": np.full((rows, 1), rows, dtype=np.int32)}

    triton.bind(
        model_name="small_batch",
        infer_func=small_batch_model,
        inputs=[Tensor(name="x", dtype=np.float32, shape=(4,))],
        outputs=[Tensor(name="y", dtype=np.float32, shape=(4,)), Tensor(name="rows", dtype=np.int32, shape=(1,))],
        config=ModelConfig(max_batch_size=4),
        strict=True,
    )


def bind_bench_model(triton, np, ModelConfig, Tensor, batch, onnx_path, delay_us):
    import onnxruntime as ort
    from pytriton.model_config import DynamicBatcher

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])

    @batch
    def mlp(x):
        return {"y": session.run(["y"], {"x": x})[0]}

    triton.bind(
        model_name="mlp_small",
        infer_func=mlp,
        inputs=[Tensor(name="x", dtype=np.float32, shape=(32,))],
        outputs=[Tensor(name="y", dtype=np.float32, shape=(8,))],
        config=ModelConfig(max_batch_size=64, batcher=DynamicBatcher(max_queue_delay_microseconds=delay_us)),
        strict=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--metrics-port", type=int, default=0, help="0: metrics off")
    parser.add_argument("--models", choices=["test", "bench"], default="test")
    parser.add_argument("--onnx", help="the ONNX model of --models bench")
    parser.add_argument("--max-queue-delay-us", type=int, default=2000, help="dynamic batching delay of --models bench")
    args = parser.parse_args()
    fix_library_path()

    import numpy as np
    from pytriton.decorators import batch
    from pytriton.model_config import ModelConfig, Tensor
    from pytriton.triton import Triton, TritonConfig, TritonSecurityConfig

    config = TritonConfig(
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        allow_metrics=bool(args.metrics_port),
        **({"metrics_port": args.metrics_port} if args.metrics_port else {}),
        log_verbose=0,
    )
    # Without this pytriton puts some endpoints (model config, repository) behind a random token.
    security = TritonSecurityConfig(restricted_endpoints=[])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with Triton(config=config, security_config=security) as triton:
        if args.models == "test":
            bind_test_models(triton, np, ModelConfig, Tensor, batch)
        else:
            if not args.onnx:
                parser.error("--models bench needs --onnx")
            bind_bench_model(triton, np, ModelConfig, Tensor, batch, args.onnx, args.max_queue_delay_us)
        triton.run()
        print("READY", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
