"""Handler overhead per request: parse + validate + forward through real botocore to a local stub
SageMaker runtime on 127.0.0.1, against a baseline of the bare ``invoke_endpoint`` call to the
same stub with the same client, in the same process (interleaved, medians).

Run: ``python bench/bench_handler.py [--n 200]``. Target: overhead <= 5 ms per request.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))

RESULT = json.dumps(
    {
        "fields": {"merchant": {"answer": "ACME", "score": 0.9, "page": 1}},
        "answers": [],
        "pages": 1,
    }
).encode()


class _Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # One response = one segment: no Nagle/delayed-ACK stalls skewing both variants.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(RESULT)}\r\n\r\n"
        ).encode()
        self.wfile.write(head + RESULT)


def _document(size: int) -> bytes:
    header = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
    return header + os.urandom(size - len(header))


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000.0


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200, help="requests per variant and size")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scratch = tempfile.TemporaryDirectory()
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(Path(scratch.name) / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(Path(scratch.name) / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": f"http://127.0.0.1:{server.server_port}",
        }
    )
    try:
        import app
        from _config import Settings

        handler = app.Handler(Settings(endpoint_name="bench-endpoint"))
        client = handler.invoker.client
        print(f"python {sys.version.split()[0]}, n={args.n} per variant, stub on 127.0.0.1")
        print(
            f"{'document':>10} {'baseline ms':>12} {'handler ms':>11} {'overhead ms':>12} "
            f"{'ratio':>6}"
        )
        for size in (20_000, 200_000, 2_000_000):
            document = _document(size)
            b64 = base64.b64encode(document).decode()
            questions = ["What is the total?", "What is the date?"]
            event = {
                "version": "2.0",
                "headers": {"content-type": "application/json"},
                "requestContext": {"requestId": "bench", "http": {"method": "POST"}},
                "rawQueryString": "",
                "isBase64Encoded": False,
                "body": json.dumps({"document": b64, "questions": questions}),
            }
            payload = json.dumps({"document": b64, "questions": questions}).encode()

            def bare(payload: bytes = payload) -> object:
                response = client.invoke_endpoint(
                    EndpointName="bench-endpoint",
                    ContentType="application/json",
                    Accept="application/json",
                    Body=payload,
                )
                return response["Body"].read()

            def through_handler(event: dict[str, Any] = event) -> object:
                response = handler(event, None)
                assert response["statusCode"] == 200, response["body"]
                return response

            for _ in range(10):  # warm up connections and caches
                bare()
                through_handler()
            base_samples: list[float] = []
            handler_samples: list[float] = []
            for _ in range(args.n):
                base_samples.append(_time(bare))
                handler_samples.append(_time(through_handler))
            base_ms, handler_ms = _median_ms(base_samples), _median_ms(handler_samples)
            print(
                f"{size:>10,} {base_ms:>12.2f} {handler_ms:>11.2f} "
                f"{handler_ms - base_ms:>12.2f} {handler_ms / base_ms:>6.2f}"
            )
        print("overhead = median(handler) - median(bare invoke_endpoint); target <= 5 ms")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        scratch.cleanup()


if __name__ == "__main__":
    main()
