package dev.lmspark.spark.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.LongConsumer;
import org.apache.parquet.io.InputFile;
import org.apache.parquet.io.SeekableInputStream;

/** An {@link InputFile} whose streams report every byte they read (footers, column chunks). */
final class CountingInputFile implements InputFile {
    private final InputFile inner;
    private final LongConsumer read;

    /** {@code inner}, its streams' reads passed to {@code read} as they happen. */
    CountingInputFile(InputFile inner, LongConsumer read) {
        this.inner = inner;
        this.read = read;
    }

    @Override
    public long getLength() throws IOException {
        return inner.getLength();
    }

    @Override
    public SeekableInputStream newStream() throws IOException {
        return new Stream(inner.newStream());
    }

    @Override
    public String toString() {
        return inner.toString();
    }

    private final class Stream extends SeekableInputStream {
        private final SeekableInputStream in;

        Stream(SeekableInputStream in) {
            this.in = in;
        }

        @Override
        public long getPos() throws IOException {
            return in.getPos();
        }

        @Override
        public void seek(long pos) throws IOException {
            in.seek(pos);
        }

        @Override
        public void readFully(byte[] bytes) throws IOException {
            in.readFully(bytes);
            read.accept(bytes.length);
        }

        @Override
        public void readFully(byte[] bytes, int start, int len) throws IOException {
            in.readFully(bytes, start, len);
            read.accept(len);
        }

        @Override
        public int read(ByteBuffer buf) throws IOException {
            int n = in.read(buf);
            read.accept(Math.max(0, n));
            return n;
        }

        @Override
        public void readFully(ByteBuffer buf) throws IOException {
            int n = buf.remaining();
            in.readFully(buf);
            read.accept(n);
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                read.accept(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            read.accept(Math.max(0, n));
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            return in.skip(n);
        }

        @Override
        public int available() throws IOException {
            return in.available();
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
