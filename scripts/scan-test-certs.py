#!/usr/bin/env python3
"""Make the TLS fixtures of netsec-scan's tests (crates/netsec-scan/tests/data):
expired-cert.pem / expired-key.pem, an expired self-signed RSA-2048 certificate
a test TLS server (rustls) presents on 127.0.0.1; and weak-cert.pem, a
1024-bit RSA certificate signed with SHA-1 (made with the openssl CLI, since
python-cryptography refuses SHA-1 signatures), parsed only.
Needs python3-cryptography and openssl."""
import datetime, os, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

out = os.path.join(os.path.dirname(__file__), "..", "crates", "netsec-scan", "tests", "data")
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired.netsec.test"),
                  x509.NameAttribute(NameOID.ORGANIZATION_NAME, "netsec lab")])
cert = (x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x5ca1)
        .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))
        .not_valid_after(datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("expired.netsec.test"),
                       x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256()))
with open(os.path.join(out, "expired-cert.pem"), "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
with open(os.path.join(out, "expired-key.pem"), "wb") as f:
    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
import subprocess, tempfile
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:1024", "-sha1", "-nodes",
                    "-keyout", os.path.join(tmp, "k.pem"), "-out", os.path.join(out, "weak-cert.pem"),
                    "-days", "3650", "-subj", "/CN=weak.netsec.test/O=netsec lab"], check=True,
                   capture_output=True)
print("wrote", out)
