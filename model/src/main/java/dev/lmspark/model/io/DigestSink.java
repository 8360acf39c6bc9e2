package dev.lmspark.model.io;

import java.io.OutputStream;
import java.security.MessageDigest;

/** An output stream that only feeds a digest and counts the bytes (a checksum pass). */
final class DigestSink extends OutputStream {
    private final MessageDigest digest;
    long count;

    DigestSink(MessageDigest digest) {
        this.digest = digest;
    }

    @Override
    public void write(int b) {
        digest.update((byte) b);
        count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
        digest.update(b, off, len);
        count += len;
    }
}
