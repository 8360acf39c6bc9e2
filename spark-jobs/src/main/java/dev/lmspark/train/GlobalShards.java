package dev.lmspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.model.io.SafeTensors;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The global parameters (and the outer momentum) each round published, as the S shard files of a
 * {@link ShardLayout} in reliable storage beside the checkpoints: {@code
 * checkpoints/.global/round-NNNNNN/params-SSSSS.f32} and {@code momentum-SSSSS.f32}, raw
 * little-endian float32 (the stores' own checksums guard them, HDFS's or an object store's; on the
 * local file system their lengths are checked on every read). The combine tasks write round r's
 * shards, each file under a hidden temporary name renamed into place, so a retried or duplicated
 * combine task leaves the same bytes; the next round's workers, the evaluation and the checkpoint
 * read them; a lost worker's state is replayed from the rounds kept here since the last checkpoint,
 * and rounds before that checkpoint are deleted. The whole folder is hidden and temporary: a new
 * start or a resume begins it again.
 */
final class GlobalShards implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The hidden folder under {@code checkpoints/}. */
    static final String DIR = ".global";

    /** What a shard file holds. */
    enum Kind {
        PARAMS("params"),
        MOMENTUM("momentum");

        final String prefix;

        Kind(String prefix) {
            this.prefix = prefix;
        }
    }

    private final String root;
    private final ShardLayout layout;
    private final SerializableConfiguration hadoop;

    GlobalShards(Path output, ShardLayout layout, SerializableConfiguration hadoop) {
        this.root = new Path(TrainCheckpoints.directory(output), DIR).toString();
        this.layout = layout;
        this.hadoop = hadoop;
    }

    ShardLayout layout() {
        return layout;
    }

    /** {@code checkpoints/.global/round-NNNNNN}. */
    Path dir(long round) {
        return new Path(root, TrainCheckpoints.name(round));
    }

    Path file(long round, Kind kind, int shard) {
        return new Path(dir(round), String.format("%s-%05d.f32", kind.prefix, shard));
    }

    /**
     * The shards' file system; on the local one, without Hadoop's checksum layer: it keeps a {@code
     * .crc} file beside each shard and checksums 512 bytes at a time, which made writing a round's
     * shards 4× slower than the disk (0.25 s against 0.065 s for 122 MB). The files live a few
     * rounds; their lengths are checked on every read.
     */
    private FileSystem fs() throws IOException {
        FileSystem fs = new Path(root).getFileSystem(hadoop.value());
        return fs instanceof LocalFileSystem local ? local.getRawFileSystem() : fs;
    }

    /** Whether every shard of {@code kind} of {@code round} is there, each of its full size. */
    boolean has(long round, Kind kind) {
        try {
            FileSystem fs = fs();
            for (int s = 0; s < layout.shards(); s++) {
                Path f = file(round, kind, s);
                if (!fs.isFile(f) || fs.getFileStatus(f).getLen() != 4L * layout.length(s)) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Writes shard {@code shard} of {@code kind} of {@code round}: its bytes appear whole. */
    void write(long round, Kind kind, int shard, float[] values) throws IOException {
        if (values.length != layout.length(shard)) {
            throw new IllegalArgumentException(
                    "shard "
                            + shard
                            + " holds "
                            + layout.length(shard)
                            + " values, not "
                            + values.length);
        }
        FileSystem fs = fs();
        Path target = file(round, kind, shard);
        Path tmp = new Path(dir(round), "." + target.getName() + "." + UUID.randomUUID());
        try (OutputStream out = fs.create(tmp, true)) {
            ByteBuffer b = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (int at = 0; at < values.length; ) {
                int n = Math.min(values.length - at, b.capacity() / 4);
                b.clear();
                b.asFloatBuffer().put(values, at, n); // bulk, not a float at a time
                out.write(b.array(), 0, 4 * n);
                at += n;
            }
        }
        publish(fs, tmp, target, 4L * values.length);
    }

    /**
     * Renames a complete temporary file into place (a duplicate writer's equal file may be there).
     */
    private static void publish(FileSystem fs, Path tmp, Path target, long bytes)
            throws IOException {
        if (fs.rename(tmp, target)) {
            return;
        }
        // Some file systems do not replace: another attempt published the same bytes first.
        if (fs.isFile(target) && fs.getFileStatus(target).getLen() == bytes) {
            fs.delete(tmp, false);
            return;
        }
        fs.delete(target, false);
        if (!fs.rename(tmp, target)) {
            throw new IOException("cannot rename " + tmp + " to " + target);
        }
    }

    /** Shard {@code shard} of {@code kind} of {@code round}. */
    float[] read(long round, Kind kind, int shard) throws IOException {
        float[] out = new float[layout.length(shard)];
        try (FlatReader r = new FlatReader(round, kind, layout.start(shard))) {
            byte[] chunk = new byte[1 << 20];
            ByteBuffer view = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
            int at = 0;
            while (at < out.length) {
                int n = Math.min(chunk.length / 4, out.length - at);
                r.readFully(chunk, 0, 4 * n);
                view.clear();
                view.asFloatBuffer().get(out, at, n); // bulk
                at += n;
            }
        }
        return out;
    }

    /** Every parameter of {@code kind} of {@code round} as arrays on {@code manager}, by name. */
    Map<String, NDArray> arrays(long round, Kind kind, NDManager manager) throws IOException {
        Map<String, NDArray> out = new java.util.LinkedHashMap<>();
        try (FlatReader r = new FlatReader(round, kind, 0)) {
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < layout.tensors(); i++) {
                long bytes = 4 * (layout.offset(i + 1) - layout.offset(i));
                ByteBuffer buffer =
                        ByteBuffer.allocateDirect(Math.toIntExact(bytes))
                                .order(ByteOrder.nativeOrder());
                while (buffer.hasRemaining()) {
                    int n = Math.min(chunk.length, buffer.remaining());
                    r.readFully(chunk, 0, n);
                    // The file is little-endian; so is every platform libtorch runs on.
                    buffer.put(chunk, 0, n);
                }
                buffer.rewind();
                out.put(
                        layout.name(i),
                        manager.create(buffer, new Shape(layout.shape(i)), DataType.FLOAT32));
            }
        }
        return out;
    }

    /**
     * Overwrites {@code arrays} (the layout's tensors by name, float32) with {@code kind} of {@code
     * round}: CPU arrays in place ({@link HostViews}), others through a host buffer.
     */
    void readInto(long round, Kind kind, Map<String, NDArray> arrays) throws IOException {
        try (FlatReader r = new FlatReader(round, kind, 0)) {
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < layout.tensors(); i++) {
                NDArray a = arrays.get(layout.name(i));
                long bytes = 4 * (layout.offset(i + 1) - layout.offset(i));
                if (a == null || a.getDataType() != DataType.FLOAT32 || 4 * a.size() != bytes) {
                    throw new IllegalArgumentException(
                            "no float32 array of " + bytes / 4 + " values for " + layout.name(i));
                }
                boolean inPlace = HostViews.viewable(a);
                ByteBuffer buffer =
                        inPlace
                                ? HostViews.bytes(a)
                                : ByteBuffer.allocateDirect(Math.toIntExact(bytes))
                                        .order(ByteOrder.nativeOrder());
                while (buffer.hasRemaining()) {
                    int n = Math.min(chunk.length, buffer.remaining());
                    r.readFully(chunk, 0, n);
                    buffer.put(chunk, 0, n); // little-endian, as every platform libtorch runs on
                }
                if (!inPlace) {
                    buffer.rewind();
                    a.set(buffer);
                }
            }
        }
    }

    /**
     * The parameters of {@code kind} of {@code round} as safetensors entries whose data is read
     * from the shard files as it is written (a checkpoint never holds the model in memory).
     */
    List<SafeTensors.Entry> entries(long round, Kind kind) {
        return layout.entries(
                (tensor, out) -> {
                    long remaining = 4 * (layout.offset(tensor + 1) - layout.offset(tensor));
                    try (FlatReader r = new FlatReader(round, kind, layout.offset(tensor))) {
                        byte[] chunk = new byte[1 << 20];
                        while (remaining > 0) {
                            int n = (int) Math.min(chunk.length, remaining);
                            r.readFully(chunk, 0, n);
                            out.write(chunk, 0, n);
                            remaining -= n;
                        }
                    }
                });
    }

    /**
     * Writes every shard of {@code kind} of {@code round} from {@code arrays} (the layout's tensors
     * by name), a tensor at a time: the start of a run, from its initial or resumed parameters.
     */
    void publish(long round, Kind kind, Map<String, NDArray> arrays) throws IOException {
        FileSystem fs = fs();
        int shard = 0;
        long left = 4L * layout.length(0);
        Path tmp = null;
        OutputStream out = null;
        try {
            for (int i = 0; i < layout.tensors(); i++) {
                NDArray a = arrays.get(layout.name(i));
                ByteBuffer data = a.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                byte[] chunk = new byte[(int) Math.min(1 << 20, Math.max(1, data.remaining()))];
                while (data.hasRemaining()) {
                    if (out == null) {
                        tmp = new Path(dir(round), ".publish-" + shard + "." + UUID.randomUUID());
                        out = fs.create(tmp, true);
                    }
                    int n = (int) Math.min(Math.min(chunk.length, data.remaining()), left);
                    data.get(chunk, 0, n);
                    out.write(chunk, 0, n);
                    left -= n;
                    if (left == 0) {
                        out.close();
                        out = null;
                        publish(fs, tmp, file(round, kind, shard), 4L * layout.length(shard));
                        shard++;
                        left = shard < layout.shards() ? 4L * layout.length(shard) : 0;
                    }
                }
            }
        } finally {
            if (out != null) {
                out.close();
                fs.delete(tmp, false);
            }
        }
        if (shard != layout.shards()) {
            throw new IllegalStateException(
                    "published " + shard + " of " + layout.shards() + " shards");
        }
    }

    /** Deletes the rounds before {@code round}: nothing replays from them any more. */
    void deleteBefore(long round) throws IOException {
        FileSystem fs = fs();
        Path r = new Path(root);
        if (!fs.exists(r)) {
            return;
        }
        for (FileStatus f : fs.listStatus(r)) {
            String name = f.getPath().getName();
            if (name.matches("round-\\d{6}") && Long.parseLong(name.substring(6)) < round) {
                fs.delete(f.getPath(), true);
            }
        }
    }

    /** Deletes every round. */
    static void deleteAll(FileSystem fs, Path output) throws IOException {
        fs.delete(new Path(TrainCheckpoints.directory(output), DIR), true);
    }

    /** Reads a flat range of one round's shards in order, opening each shard file once. */
    private final class FlatReader implements AutoCloseable {
        private final long round;
        private final Kind kind;
        private final FileSystem fs;
        private long position;
        private int shard = -1;
        private InputStream in;

        FlatReader(long round, Kind kind, long from) throws IOException {
            this.round = round;
            this.kind = kind;
            this.fs = fs();
            this.position = from;
        }

        void readFully(byte[] b, int off, int len) throws IOException {
            if (len % 4 != 0) {
                throw new IllegalArgumentException("whole floats only");
            }
            while (len > 0) {
                if (in == null || position >= layout.end(shard)) {
                    open();
                }
                int n = (int) Math.min(len, 4 * (layout.end(shard) - position));
                try {
                    readNFully(in, b, off, n);
                } catch (EOFException e) {
                    throw new IOException(
                            file(round, kind, shard)
                                    + " is shorter than its "
                                    + 4L * layout.length(shard)
                                    + " bytes (truncated from outside?)",
                            e);
                }
                position += n / 4;
                off += n;
                len -= n;
            }
        }

        private void open() throws IOException {
            close();
            shard = shardOf(position);
            Path f = file(round, kind, shard);
            FSDataInputStream s;
            try {
                s = fs.open(f);
            } catch (java.io.FileNotFoundException e) {
                throw new java.io.FileNotFoundException(
                        f + " is missing: the global parameters of round " + round + " are gone");
            }
            s.seek(4 * (position - layout.start(shard)));
            in = s;
        }

        private int shardOf(long flat) {
            int lo = 0;
            int hi = layout.shards() - 1;
            while (lo < hi) {
                int mid = (lo + hi + 1) >>> 1;
                if (layout.start(mid) <= flat) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            return lo;
        }

        @Override
        public void close() throws IOException {
            if (in != null) {
                in.close();
                in = null;
            }
        }
    }

    private static void readNFully(InputStream in, byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            int n = in.read(b, off, len);
            if (n < 0) {
                throw new EOFException();
            }
            off += n;
            len -= n;
        }
    }

    /** Wraps an I/O failure of a task reading shards. */
    static UncheckedIOException unreadable(String what, IOException e) {
        return new UncheckedIOException(what + ": " + e.getMessage(), e);
    }
}
