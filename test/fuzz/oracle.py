#!/usr/bin/env python3
"""Reference parser for the differential fuzz test: Python's email package.

One long-lived process. Requests on stdin: one mode byte, a 4-byte big-endian length, the raw
message. One JSON line per request on stdout, contents base64. Every message is parsed with
policy.default and with policy.compat32; an exception is reported per policy, never raised.

Mode A (an original message): the attachments, and the body texts.
  An attachment is every leaf (non-multipart part, walk order) except a text/plain or text/html
  part without "Content-Disposition: attachment" and without a filename (those are bodies), and
  except signature parts (application/pgp-signature, application/(x-)pkcs7-signature), which
  travel with a signed message by design. A message/* part (other than message/delivery-status)
  counts as one attachment whose content is its inner message (get_payload(0).as_bytes()); its
  leaves are visited as well.
Mode L (an outside copy): every leaf decoded (get_payload(decode=True)), bodies included.
"""
import base64
import email
import email.policy
import json
import struct
import sys

SIGNATURES = {'application/pgp-signature', 'application/pkcs7-signature', 'application/x-pkcs7-signature'}
BODY_TYPES = {'text/plain', 'text/html'}


def b64(data):
    return base64.b64encode(data or b'').decode('ascii')


def walk(msg):
    """(part, inside multipart/related?) in walk() order, without recursion (60-deep nesting)."""
    stack = [(msg, False)]
    while stack:
        part, related = stack.pop()
        yield part, related
        if part.is_multipart():
            inner = related or part.get_content_type() == 'multipart/related'
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((p, inner) for p in reversed(payload))


def cid_of(part):
    value = part.get('Content-ID')
    return str(value).strip().strip('<>').strip() if value is not None else None


def attachments(msg):
    out, bodies, errors = [], [], []
    for part, related in walk(msg):
        try:
            ctype = part.get_content_type()
            if part.is_multipart():
                if part.get_content_maintype() == 'message' and ctype != 'message/delivery-status':
                    inner = part.get_payload(0)
                    out.append({'filename': part.get_filename(), 'contentType': ctype, 'content': b64(inner.as_bytes()), 'cid': cid_of(part), 'related': related})
                continue
            try:
                filename = part.get_filename()
                disposition = part.get_content_disposition()
            except Exception as e:  # a name nobody can read still makes it an attachment
                errors.append(f'{type(e).__name__}: {e}')
                filename, disposition = '(unreadable)', 'attachment'
            content = part.get_payload(decode=True)
            if ctype in BODY_TYPES and disposition != 'attachment' and not filename:
                bodies.append(b64(content))
                continue
            if ctype in SIGNATURES:
                continue
            out.append({'filename': filename, 'contentType': ctype, 'content': b64(content), 'cid': cid_of(part), 'related': related})
        except Exception as e:  # one broken part must not hide the others
            errors.append(f'{type(e).__name__}: {e}')
    return {'attachments': out, 'bodies': bodies, 'error': '; '.join(errors) or None}


def leaves(msg):
    out, errors = [], []
    for part, _related in walk(msg):
        try:
            if not part.is_multipart():
                out.append({'contentType': part.get_content_type(), 'content': b64(part.get_payload(decode=True))})
        except Exception as e:
            errors.append(f'{type(e).__name__}: {e}')
    return {'leaves': out, 'error': '; '.join(errors) or None}


POLICIES = {'default': email.policy.default, 'compat32': email.policy.compat32}


def handle(mode, raw):
    result = {}
    for name, policy in POLICIES.items():
        try:
            msg = email.message_from_bytes(raw, policy=policy)
            result[name] = attachments(msg) if mode == b'A' else leaves(msg)
        except Exception as e:
            result[name] = {'failed': f'{type(e).__name__}: {e}'}
    return result


def main():
    sys.setrecursionlimit(10000)
    stdin, stdout = sys.stdin.buffer, sys.stdout
    while True:
        head = stdin.read(5)
        if len(head) < 5:
            return
        mode, (length,) = head[:1], struct.unpack('>I', head[1:])
        raw = stdin.read(length)
        try:
            line = json.dumps(handle(mode, raw))
        except Exception as e:
            line = json.dumps({'failed': f'{type(e).__name__}: {e}'})
        stdout.write(line + '\n')
        stdout.flush()


if __name__ == '__main__':
    main()
