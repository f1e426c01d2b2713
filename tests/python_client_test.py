"""provledgerd from another language: a Python client (Debian's
python3-grpcio and python3-protobuf) with stubs generated from the .proto
files at test time, against a real server on 127.0.0.1.

Usage: python_client_test.py PROVLEDGERD PROVLEDGER DEMO_EVENTS PROTO_DIR
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import provledgerd_process
import urllib.request

PROVLEDGERD, PROVLEDGER, DEMO_EVENTS, PROTO_DIR = sys.argv[1:5]
del sys.argv[1:5]


def generate_stubs(out_dir):
    """Python modules for the service and its messages, from the .proto."""
    protos = [os.path.join(PROTO_DIR, "provledger", "v1", name)
              for name in ("api.proto", "errors.proto", "events.proto",
                           "service.proto", "storage.proto")]
    subprocess.run(
        ["protoc", "-I", PROTO_DIR, "--python_out", out_dir,
         "--grpc_python_out", out_dir,
         "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"]
        + protos, check=True)
    sys.path.insert(0, out_dir)


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="provledger-py-")
        generate_stubs(cls.dir)
        global grpc, api_pb2, errors_pb2, events_pb2, service_pb2, service_grpc
        import grpc
        from provledger.v1 import api_pb2, errors_pb2, events_pb2
        from provledger.v1 import service_pb2
        from provledger.v1 import service_pb2_grpc as service_grpc
        db = os.path.join(cls.dir, "db")
        subprocess.run([PROVLEDGER, "--db", db, "init"], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([PROVLEDGER, "--db", db, "import", DEMO_EVENTS],
                       check=True, stdout=subprocess.DEVNULL)
        cls.server, labels = provledgerd_process.start(
            [PROVLEDGERD, "--db", db, "--listen", "127.0.0.1:0",
             "--metrics", "127.0.0.1:0"])
        cls.metrics_url = "http://" + labels["metrics on"]
        cls.address = labels["listening on"]
        cls.channel = grpc.insecure_channel(cls.address)
        cls.stub = service_grpc.LedgerStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.send_signal(signal.SIGTERM)
        try:
            code = cls.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cls.server.kill()
            code = -1
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert code == 0, "provledgerd exited with %d" % code

    @staticmethod
    def credentialed(event_id, npi="1234567893"):
        e = events_pb2.Event(event_id=event_id, effective_date="2024-05-01",
                             source="python client")
        e.credentialed.npi = npi
        e.credentialed.payer = "medicare"
        return e

    def test_1_appends_a_batch(self):
        reply = self.stub.Append(api_pb2.AppendRequest(
            events=[self.credentialed("py-1"), self.credentialed("py-2")]),
            timeout=20)
        self.assertEqual(list(reply.seqs), [27, 28])
        self.assertEqual(reply.appended, 2)
        self.assertTrue(reply.head.startswith("28:"))

    def test_2_a_bad_batch_is_a_typed_error(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.Append(api_pb2.AppendRequest(
                events=[self.credentialed("py-3"),
                        self.credentialed("py-4", npi="1234567890")]),
                timeout=20)
        error = caught.exception
        self.assertEqual(error.code(), grpc.StatusCode.INVALID_ARGUMENT)
        details = dict(error.trailing_metadata())["grpc-status-details-bin"]
        status = service_pb2.ErrorStatus.FromString(details)
        event_error = errors_pb2.EventError()
        self.assertTrue(status.details[0].Unpack(event_error))
        self.assertEqual(event_error.index, 1)
        self.assertEqual(event_error.field, "credentialed.npi")
        self.assertEqual(event_error.code, "INVALID_FIELD")

    def test_3_subscribes(self):
        stream = self.stub.Subscribe(
            service_pb2.SubscribeRequest(from_seq=27, heartbeat_seconds=1),
            timeout=20)
        seqs = []
        for item in stream:
            if item.HasField("event"):
                seqs.append(item.event.seq)
            elif item.HasField("heartbeat"):
                self.assertEqual(item.heartbeat.head_seq, 28)
                break
        stream.cancel()
        self.assertEqual(seqs, [27, 28])

    def test_4_reads_a_claim_check(self):
        reply = self.stub.ClaimCheck(api_pb2.ClaimCheckRequest(
            rendering_npi="1526374859", billing_npi="1245319599",
            payer="medicare", date_of_service="2024-03-10"), timeout=20)
        self.assertFalse(reply.payable)
        self.assertEqual(reply.result, "denied")
        self.assertEqual([f.code for f in reply.findings],
                         ["NOT_ASSOCIATED", "REASSIGNMENT_ENDED"])
        earlier = self.stub.ClaimCheck(api_pb2.ClaimCheckRequest(
            rendering_npi="1526374859", billing_npi="1245319599",
            payer="medicare", date_of_service="2024-03-10",
            known=api_pb2.KnowledgePoint(known_seq=24)), timeout=20)
        self.assertTrue(earlier.payable)
        self.assertEqual(earlier.known_seq, 24)

    def test_5_health_and_reflection_answer_generic_tools(self):
        # Raw calls, as a generic tool makes them: grpc.health.v1 Check with
        # an empty request answers SERVING (field 1 = 1) ...
        check = self.channel.unary_unary("/grpc.health.v1.Health/Check")
        self.assertEqual(check(b"", timeout=20), b"\x08\x01")
        # ... and reflection lists the service (list_services, field 7).
        reflect = self.channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        replies = reflect(iter([b"\x3a\x00"]), timeout=20)
        first = next(replies)
        replies.cancel()
        self.assertIn(b"provledger.v1.Ledger", first)
        self.assertIn(b"grpc.health.v1.Health", first)

    def metrics(self):
        """The metrics page as {'name{labels}': value}."""
        with urllib.request.urlopen(self.metrics_url, timeout=20) as page:
            text = page.read().decode()
        # Counts only: no NPI, no token, no identity.
        for secret in ("1526374859", "1245319599", "1234567893", "Bearer"):
            self.assertNotIn(secret, text)
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def test_6_metrics_count_what_happened(self):
        m = self.metrics()
        # test_1 wrote 2 events in one batch, test_2's batch was refused.
        self.assertEqual(m["provledger_append_events_total"], 2)
        self.assertEqual(m['provledger_append_batches_total{code="OK"}'], 1)
        self.assertEqual(
            m['provledger_append_batches_total{code="INVALID_ARGUMENT"}'], 1)
        self.assertEqual(m["provledger_head_seq"], 28)
        # One client appending alone: every group held one batch.
        groups = m["provledger_commit_group_size_count"]
        self.assertGreaterEqual(groups, 1)
        self.assertEqual(m["provledger_commit_group_size_sum"], groups)
        self.assertEqual(m["provledger_commit_duration_seconds_count"], groups)
        self.assertEqual(m['provledger_query_duration_seconds_count'
                           '{method="ClaimCheck"}'], 2)
        # A live subscription counts once it is answered (test_3's, which
        # was cancelled, ends within a fraction of a second).
        stream = self.stub.Subscribe(
            service_pb2.SubscribeRequest(from_seq=28), timeout=20)
        self.assertEqual(next(stream).event.seq, 28)
        deadline = time.monotonic() + 10
        while (self.metrics()["provledger_subscribers"] != 1 and
               time.monotonic() < deadline):
            time.sleep(0.05)
        self.assertEqual(self.metrics()["provledger_subscribers"], 1)
        stream.cancel()


if __name__ == "__main__":
    unittest.main(verbosity=2)
