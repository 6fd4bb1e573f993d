"""MLServer custom runtimes for the kserve backend's tests (test/) and bench/oip (bench/).
Started with this folder on PYTHONPATH:

    PYTHONPATH=test/interop/kserve/peers/mlserver MLSERVER_HTTP_PORT=8080 MLSERVER_GRPC_PORT=8081 \
      .venv-mlserver/bin/mlserver start test/interop/kserve/peers/mlserver/test

- TypesModel: x FP32[-1,3] -> y = x * 2 + 1 (an x holding -999 fails the call); f16 FP16[-1,2] -> f16_out = f16 * 2 (FP16);
  text BYTES[-1] -> text_out = text upper-cased + b"!"; rows INT32[-1] = the rows it ran.
- OnnxModel: the ONNX model in the model's `parameters.uri` run with onnxruntime (one
  intra-op thread); input x, output y.
"""
import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse, ResponseOutput
from mlserver.utils import get_model_uri


def _inputs(payload):
    # MLServer's NumpyCodec reads BYTES elements of different lengths as one fixed-width
    # buffer and fails; the elements themselves are what the model wants.
    return {
        i.name: list(getattr(i.data, "root", i.data)) if i.datatype == "BYTES" else NumpyCodec.decode_input(i)
        for i in payload.inputs
    }


class TypesModel(MLModel):
    async def load(self) -> bool:
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = _inputs(payload)
        if (x["x"] == -999).any():
            # For the tests: a model error, which the peer reports as a failed call.
            raise ValueError("mtypes refuses -999")
        rows = x["x"].shape[0]
        text = [bytes(t).upper() + b"!" for t in x["text"]]
        outputs = [
            NumpyCodec.encode_output("y", (x["x"] * np.float32(2) + np.float32(1)).astype(np.float32)),
            NumpyCodec.encode_output("f16_out", (x["f16"] * np.float16(2)).astype(np.float16)),
            # NumpyCodec answers a 1-D array as shape [rows, 1]; the metadata says [-1].
            ResponseOutput(name="text_out", datatype="BYTES", shape=[rows], data=text),
            ResponseOutput(name="rows", datatype="INT32", shape=[rows], data=[rows] * rows),
        ]
        return InferenceResponse(model_name=self.name, id=payload.id, outputs=outputs)


class OnnxModel(MLModel):
    async def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        # get_model_uri resolves parameters.uri against the model-settings.json folder.
        self._session = ort.InferenceSession(await get_model_uri(self.settings), options, providers=["CPUExecutionProvider"])
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0])
        y = self._session.run(["y"], {"x": x.astype(np.float32, copy=False)})[0]
        return InferenceResponse(model_name=self.name, id=payload.id, outputs=[NumpyCodec.encode_output("y", y)])
