package dev.lmspark.spark.data;

import dev.lmspark.data.BadInputException;
import dev.lmspark.spark.data.PreparedDataset.Shard;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.HadoopReadOptions;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.ColumnReader;
import org.apache.parquet.column.impl.ColumnReadStoreImpl;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.DummyRecordConverter;
import org.apache.parquet.filter2.compat.FilterCompat;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.InputFile;
import org.apache.parquet.io.SeekableInputStream;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;

/**
 * Reads one split of a {@link PreparedDataset} by {@code example_id} range, on an executor or
 * anywhere else, straight from its Parquet shards through a Hadoop {@code FileSystem} — no Spark
 * SQL. A range maps to shards by their manifest {@code first_example_id}s and to row groups by the
 * footers' row counts; only those row groups' column chunks are read (all columns of the split,
 * decoded with Parquet's column readers), and the last {@code cachedRowGroups} decoded row groups
 * are kept (least recently used goes first), so consecutive small ranges read each row group once.
 *
 * <p>Every row's {@code example_id} is checked against the one its position implies, and every
 * array's length against {@code max_length}: a shard that does not match its manifest entry, is
 * missing, or is not readable Parquet is an {@link IOException} naming the file. Page checksums are
 * verified where the writer stored them (Spark does).
 *
 * <p>Not thread-safe: use one reader per thread. Footers of the shards touched stay in memory (a
 * few KiB each); at most {@value #OPEN_FILES} files are held open at once.
 */
public final class ExampleReader implements AutoCloseable {
    /** Files held open at once; a reader of consecutive ranges needs one, a range spanning two. */
    static final int OPEN_FILES = 2;

    private final PreparedDataset dataset;
    private final String split;
    private final Configuration conf;
    private final int cachedRowGroups;
    private final List<Shard> shards;
    private final long[] firstIds;
    private final long numExamples;
    private final List<String> columns;
    private final ParquetReadOptions options;
    private final ShardFile[] files;
    private final LinkedHashMap<Long, Examples> cache = new LinkedHashMap<>(16, 0.75f, true);
    private final LinkedHashMap<Integer, ParquetFileReader> open =
            new LinkedHashMap<>(4, 0.75f, true);
    private long bytesRead;
    private long rowGroupsDecoded;
    private boolean closed;

    /**
     * A reader of {@code split}; opens nothing until {@link #read}.
     *
     * @param cachedRowGroups decoded row groups to keep, 0 or more (each holds up to {@value
     *     PreparedDataset#ROW_GROUP} rows: about 1.7 MB at 128 tokens)
     * @throws BadInputException when the dataset has no such split, or the manifest's shards of it
     *     do not tile {@code [0, numExamples)}
     */
    public ExampleReader(
            PreparedDataset dataset, String split, Configuration conf, int cachedRowGroups) {
        if (cachedRowGroups < 0) {
            throw new IllegalArgumentException(
                    "cachedRowGroups " + cachedRowGroups + " must be 0 or more");
        }
        this.dataset = dataset;
        this.split = split;
        this.conf = conf;
        this.cachedRowGroups = cachedRowGroups;
        this.numExamples = dataset.numExamples(split);
        this.shards = dataset.shards(split);
        this.columns = dataset.columns(split);
        this.firstIds = new long[shards.size()];
        long next = 0;
        for (int i = 0; i < shards.size(); i++) {
            Shard s = shards.get(i);
            if (s.firstExampleId() != next || s.rows() < 0) {
                throw new BadInputException(
                        dataset.root()
                                + "/"
                                + PreparedDataset.MANIFEST
                                + ": "
                                + s.path()
                                + " starts at example_id "
                                + s.firstExampleId()
                                + " where "
                                + next
                                + " was due; the manifest's "
                                + split
                                + " shards must cover every example_id once (run lmspark verify)");
            }
            firstIds[i] = next;
            next += s.rows();
        }
        if (next != numExamples) {
            throw new BadInputException(
                    dataset.root()
                            + "/"
                            + PreparedDataset.MANIFEST
                            + ": the "
                            + split
                            + " shards hold "
                            + next
                            + " rows, num_examples says "
                            + numExamples
                            + " (run lmspark verify)");
        }
        this.files = new ShardFile[shards.size()];
        this.options =
                HadoopReadOptions.builder(conf)
                        .withRecordFilter(FilterCompat.NOOP)
                        .useStatsFilter(false)
                        .useDictionaryFilter(false)
                        .useRecordFilter(false)
                        .useColumnIndexFilter(false)
                        .useBloomFilter(false)
                        .withUseHadoopVectoredIo(false)
                        .usePageChecksumVerification(true)
                        .build();
    }

    /** The dataset read. */
    public PreparedDataset dataset() {
        return dataset;
    }

    /** The split read. */
    public String split() {
        return split;
    }

    /** Examples in the split: ids are {@code [0, numExamples())}. */
    public long numExamples() {
        return numExamples;
    }

    /**
     * Bytes read from the file system so far: footers (once per shard) and the column chunks of
     * every row group decoded (a row group read again after leaving the cache counts again).
     */
    public long bytesRead() {
        return bytesRead;
    }

    /** Row groups decoded so far (cache hits do not count). */
    public long rowGroupsDecoded() {
        return rowGroupsDecoded;
    }

    /**
     * The rows with {@code example_id} in {@code [fromId, toId)}, in id order. An empty range gives
     * no rows.
     *
     * @throws IndexOutOfBoundsException when the range is not within {@code [0, numExamples())}
     * @throws IOException when a shard is missing, unreadable, or does not match its manifest
     *     entry; the message names the file
     */
    public Examples read(long fromId, long toId) throws IOException {
        if (closed) {
            throw new IllegalStateException("the reader of " + split + " is closed");
        }
        if (fromId < 0 || toId > numExamples || fromId > toId) {
            throw new IndexOutOfBoundsException(
                    "example_ids ["
                            + fromId
                            + ", "
                            + toId
                            + ") are not within "
                            + split
                            + "'s [0, "
                            + numExamples
                            + ")");
        }
        Examples out =
                Examples.allocate(
                        Math.toIntExact(toId - fromId),
                        dataset.maxLength(),
                        columns.contains(PreparedDataset.WORD_START),
                        columns.contains(PreparedDataset.NEXT_SENTENCE_LABEL),
                        columns.contains(PreparedDataset.TARGET_IDS));
        long id = fromId;
        int at = 0;
        while (id < toId) {
            int s = Arrays.binarySearch(firstIds, id);
            if (s < 0) {
                s = -s - 2;
            }
            // Empty shards share their first id with the next one: take the last that starts here.
            while (s + 1 < firstIds.length && firstIds[s + 1] <= id) {
                s++;
            }
            ShardFile f = file(s);
            long local = id - firstIds[s];
            int g = Arrays.binarySearch(f.groupStart, local);
            if (g < 0) {
                g = -g - 2;
            }
            while (g + 1 < f.groupStart.length - 1 && f.groupStart[g + 1] <= local) {
                g++;
            }
            Examples group = rowGroup(s, g);
            int start = (int) (local - f.groupStart[g]);
            int n = (int) Math.min(group.rows() - start, toId - id);
            Examples.copyRows(group, start, out, at, n);
            at += n;
            id += n;
        }
        return out;
    }

    /** Closes the open files and drops the cache. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        cache.clear();
        IOException first = null;
        for (ParquetFileReader r : open.values()) {
            try {
                r.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        open.clear();
        if (first != null) {
            throw first;
        }
    }

    // ---- shards ----

    /** A shard's footer, row-group starts and the column descriptors read. */
    private static final class ShardFile {
        final Path path;
        final InputFile input;
        final ParquetMetadata footer;
        final long[] groupStart;
        final List<ColumnDescriptor> descriptors;

        ShardFile(
                Path path,
                InputFile input,
                ParquetMetadata footer,
                long[] groupStart,
                List<ColumnDescriptor> descriptors) {
            this.path = path;
            this.input = input;
            this.footer = footer;
            this.groupStart = groupStart;
            this.descriptors = descriptors;
        }
    }

    private String name(int s) {
        return dataset.file(shards.get(s)).toString();
    }

    private ShardFile file(int s) throws IOException {
        if (files[s] != null) {
            return files[s];
        }
        Shard shard = shards.get(s);
        Path path = dataset.file(shard);
        String name = path.toString();
        InputFile input;
        try {
            input = new CountingFile(HadoopInputFile.fromPath(path, conf));
        } catch (FileNotFoundException e) {
            throw new IOException(
                    name
                            + " is missing (a "
                            + split
                            + " shard listed in "
                            + PreparedDataset.MANIFEST
                            + "); restore it or prepare the dataset again",
                    e);
        }
        ParquetMetadata footer;
        try (SeekableInputStream in = input.newStream()) {
            footer = ParquetFileReader.readFooter(input, options, in);
        } catch (IOException | RuntimeException e) {
            throw new IOException(
                    name
                            + " is not a readable Parquet file ("
                            + e.getMessage()
                            + "); restore it or prepare the dataset again",
                    e);
        }
        List<BlockMetaData> blocks = footer.getBlocks();
        long[] starts = new long[blocks.size() + 1];
        for (int i = 0; i < blocks.size(); i++) {
            starts[i + 1] = starts[i] + blocks.get(i).getRowCount();
        }
        if (starts[blocks.size()] != shard.rows()) {
            throw new IOException(
                    name
                            + " has "
                            + starts[blocks.size()]
                            + " rows, "
                            + PreparedDataset.MANIFEST
                            + " says "
                            + shard.rows()
                            + "; the file does not match the manifest (run lmspark verify)");
        }
        files[s] =
                new ShardFile(
                        path,
                        input,
                        footer,
                        starts,
                        descriptors(name, footer.getFileMetaData().getSchema()));
        return files[s];
    }

    /** The leaf column of each of the split's columns, checked against the contract. */
    private List<ColumnDescriptor> descriptors(String name, MessageType schema) throws IOException {
        List<ColumnDescriptor> out = new ArrayList<>();
        for (String column : columns) {
            ColumnDescriptor found = null;
            for (ColumnDescriptor d : schema.getColumns()) {
                if (d.getPath()[0].equals(column)) {
                    if (found != null) {
                        throw new IOException(name + ": column " + column + " is not flat");
                    }
                    found = d;
                }
            }
            if (found == null) {
                throw new IOException(
                        name
                                + " has no "
                                + column
                                + " column, which "
                                + split
                                + " rows of this "
                                + dataset.objective()
                                + " dataset have; the file does not match the manifest");
            }
            boolean array = isArray(column);
            boolean wide =
                    column.equals(PreparedDataset.EXAMPLE_ID)
                            || column.equals(PreparedDataset.DOC_ID);
            PrimitiveTypeName type = found.getPrimitiveType().getPrimitiveTypeName();
            PrimitiveTypeName expected = wide ? PrimitiveTypeName.INT64 : PrimitiveTypeName.INT32;
            if (type != expected || (found.getMaxRepetitionLevel() == 1) != array) {
                throw new IOException(
                        name
                                + ": column "
                                + column
                                + " is "
                                + (found.getMaxRepetitionLevel() > 0 ? "a list of " : "")
                                + type
                                + ", expected "
                                + (array ? "a list of " : "")
                                + expected);
            }
            out.add(found);
        }
        return out;
    }

    private static boolean isArray(String column) {
        return !column.equals(PreparedDataset.EXAMPLE_ID)
                && !column.equals(PreparedDataset.DOC_ID)
                && !column.equals(PreparedDataset.NEXT_SENTENCE_LABEL);
    }

    private ParquetFileReader reader(int s) throws IOException {
        ParquetFileReader r = open.get(s);
        if (r != null) {
            return r;
        }
        ShardFile f = files[s];
        SeekableInputStream in;
        try {
            in = f.input.newStream();
        } catch (FileNotFoundException e) {
            throw new IOException(
                    name(s)
                            + " is missing (a "
                            + split
                            + " shard listed in "
                            + PreparedDataset.MANIFEST
                            + ", deleted since it was first read); restore it or prepare the"
                            + " dataset again",
                    e);
        }
        try {
            r = ParquetFileReader.open(f.input, f.footer, options, in);
        } catch (IOException | RuntimeException e) {
            in.close();
            throw new IOException(name(s) + " cannot be opened (" + e.getMessage() + ")", e);
        }
        r.setRequestedSchema(f.descriptors);
        open.put(s, r);
        if (open.size() > OPEN_FILES) {
            Iterator<Map.Entry<Integer, ParquetFileReader>> eldest = open.entrySet().iterator();
            ParquetFileReader old = eldest.next().getValue();
            eldest.remove();
            old.close();
        }
        return r;
    }

    // ---- row groups ----

    private Examples rowGroup(int s, int g) throws IOException {
        long key = ((long) s << 32) | g;
        Examples cached = cache.get(key);
        if (cached != null) {
            return cached;
        }
        ParquetFileReader reader = reader(s);
        Examples decoded;
        try {
            decoded = decode(s, g, reader);
        } catch (ParquetReadError e) {
            throw new IOException(name(s) + ": " + e.getMessage());
        } catch (IOException | RuntimeException e) {
            throw new IOException(
                    name(s)
                            + ": row group "
                            + g
                            + " cannot be read ("
                            + e.getMessage()
                            + "); the file is damaged (run lmspark verify)",
                    e);
        }
        rowGroupsDecoded++;
        if (cachedRowGroups > 0) {
            cache.put(key, decoded);
            if (cache.size() > cachedRowGroups) {
                Iterator<Long> eldest = cache.keySet().iterator();
                eldest.next();
                eldest.remove();
            }
        }
        return decoded;
    }

    /** A shard whose content breaks the contract; the message is completed with the file. */
    private static final class ParquetReadError extends RuntimeException {
        ParquetReadError(String message) {
            super(message, null, false, false);
        }
    }

    private Examples decode(int s, int g, ParquetFileReader r) throws IOException {
        ShardFile f = files[s];
        PageReadStore pages = r.readRowGroup(g);
        if (pages == null) {
            throw new ParquetReadError("row group " + g + " is missing");
        }
        int rows = Math.toIntExact(pages.getRowCount());
        int length = dataset.maxLength();
        MessageType schema = f.footer.getFileMetaData().getSchema();
        ColumnReadStoreImpl store =
                new ColumnReadStoreImpl(
                        pages,
                        new DummyRecordConverter(schema).getRootConverter(),
                        schema,
                        f.footer.getFileMetaData().getCreatedBy());
        Examples out =
                Examples.allocate(
                        rows,
                        length,
                        columns.contains(PreparedDataset.WORD_START),
                        columns.contains(PreparedDataset.NEXT_SENTENCE_LABEL),
                        columns.contains(PreparedDataset.TARGET_IDS));
        for (int c = 0; c < columns.size(); c++) {
            String column = columns.get(c);
            ColumnReader cr = store.getColumnReader(f.descriptors.get(c));
            switch (column) {
                case PreparedDataset.EXAMPLE_ID -> longs(cr, rows, out.exampleId(), column, g);
                case PreparedDataset.DOC_ID -> longs(cr, rows, out.docId(), column, g);
                case PreparedDataset.NEXT_SENTENCE_LABEL ->
                        scalarBytes(cr, rows, out.nextSentenceLabel(), column, g);
                case PreparedDataset.INPUT_IDS -> ints(cr, rows, length, out.inputIds(), column, g);
                case PreparedDataset.LABELS -> ints(cr, rows, length, out.labels(), column, g);
                case PreparedDataset.TARGET_IDS ->
                        ints(cr, rows, length, out.targetIds(), column, g);
                case PreparedDataset.ATTENTION_MASK ->
                        bytes(cr, rows, length, out.attentionMask(), column, g);
                case PreparedDataset.TOKEN_TYPE_IDS ->
                        bytes(cr, rows, length, out.tokenTypeIds(), column, g);
                case PreparedDataset.SPECIAL_TOKENS_MASK ->
                        bytes(cr, rows, length, out.specialTokensMask(), column, g);
                case PreparedDataset.WORD_START ->
                        bytes(cr, rows, length, out.wordStart(), column, g);
                default -> throw new IllegalStateException(column);
            }
        }
        long first = shards.get(s).firstExampleId() + f.groupStart[g];
        long[] ids = out.exampleId();
        for (int i = 0; i < rows; i++) {
            if (ids[i] != first + i) {
                throw new ParquetReadError(
                        "row "
                                + i
                                + " of row group "
                                + g
                                + " has example_id "
                                + ids[i]
                                + " where the manifest implies "
                                + (first + i)
                                + "; the file does not match the manifest (run lmspark verify)");
            }
        }
        return out;
    }

    private static void longs(ColumnReader r, int rows, long[] out, String column, int g) {
        int maxDef = r.getDescriptor().getMaxDefinitionLevel();
        checkCount(r, rows, column, g);
        for (int i = 0; i < rows; i++) {
            if (r.getCurrentDefinitionLevel() != maxDef) {
                throw nullValue(column, g, i);
            }
            out[i] = r.getLong();
            r.consume();
        }
    }

    private static void scalarBytes(ColumnReader r, int rows, byte[] out, String column, int g) {
        int maxDef = r.getDescriptor().getMaxDefinitionLevel();
        checkCount(r, rows, column, g);
        for (int i = 0; i < rows; i++) {
            if (r.getCurrentDefinitionLevel() != maxDef) {
                throw nullValue(column, g, i);
            }
            out[i] = (byte) r.getInteger();
            r.consume();
        }
    }

    private static void checkCount(ColumnReader r, int rows, String column, int g) {
        if (r.getTotalValueCount() != rows) {
            throw new ParquetReadError(
                    "column "
                            + column
                            + " of row group "
                            + g
                            + " has "
                            + r.getTotalValueCount()
                            + " values for "
                            + rows
                            + " rows");
        }
    }

    private static ParquetReadError nullValue(String column, int g, int row) {
        return new ParquetReadError(
                "row " + row + " of row group " + g + " has no " + column + " (null)");
    }

    /*
     * A list column is one stream of (repetition level, definition level, value): repetition
     * level 0 starts a row, and a value is present where the definition level is the column's
     * maximum (a lower one is a null or empty list, or a null element, none of which the contract
     * allows). Every row must hold exactly `length` values.
     */

    private static void ints(
            ColumnReader r, int rows, int length, int[] out, String column, int g) {
        int maxDef = r.getDescriptor().getMaxDefinitionLevel();
        long total = r.getTotalValueCount();
        if (total != (long) rows * length) {
            throw wrongLength(column, g, total, rows, length);
        }
        int k = 0;
        for (int row = 0; row < rows; row++) {
            for (int i = 0; i < length; i++) {
                if ((r.getCurrentRepetitionLevel() == 0) != (i == 0)
                        || r.getCurrentDefinitionLevel() != maxDef) {
                    throw badRow(column, g, row, length);
                }
                out[k++] = r.getInteger();
                r.consume();
            }
        }
    }

    private static void bytes(
            ColumnReader r, int rows, int length, byte[] out, String column, int g) {
        int maxDef = r.getDescriptor().getMaxDefinitionLevel();
        long total = r.getTotalValueCount();
        if (total != (long) rows * length) {
            throw wrongLength(column, g, total, rows, length);
        }
        int k = 0;
        for (int row = 0; row < rows; row++) {
            for (int i = 0; i < length; i++) {
                if ((r.getCurrentRepetitionLevel() == 0) != (i == 0)
                        || r.getCurrentDefinitionLevel() != maxDef) {
                    throw badRow(column, g, row, length);
                }
                out[k++] = (byte) r.getInteger();
                r.consume();
            }
        }
    }

    private static ParquetReadError wrongLength(
            String column, int g, long total, int rows, int length) {
        return new ParquetReadError(
                "column "
                        + column
                        + " of row group "
                        + g
                        + " has "
                        + total
                        + " entries for "
                        + rows
                        + " rows of max_length "
                        + length
                        + "; every row must hold exactly max_length");
    }

    private static ParquetReadError badRow(String column, int g, int row, int length) {
        return new ParquetReadError(
                "row "
                        + row
                        + " of row group "
                        + g
                        + ": "
                        + column
                        + " is null, or does not hold exactly max_length "
                        + length
                        + " entries");
    }

    // ---- byte counting ----

    /** An {@link InputFile} whose streams add what they read to {@link #bytesRead}. */
    private final class CountingFile implements InputFile {
        private final InputFile inner;

        CountingFile(InputFile inner) {
            this.inner = inner;
        }

        @Override
        public long getLength() throws IOException {
            return inner.getLength();
        }

        @Override
        public SeekableInputStream newStream() throws IOException {
            return new CountingStream(inner.newStream());
        }

        @Override
        public String toString() {
            return inner.toString();
        }
    }

    private final class CountingStream extends SeekableInputStream {
        private final SeekableInputStream in;

        CountingStream(SeekableInputStream in) {
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
            bytesRead += bytes.length;
        }

        @Override
        public void readFully(byte[] bytes, int start, int len) throws IOException {
            in.readFully(bytes, start, len);
            bytesRead += len;
        }

        @Override
        public int read(ByteBuffer buf) throws IOException {
            int n = in.read(buf);
            bytesRead += Math.max(0, n);
            return n;
        }

        @Override
        public void readFully(ByteBuffer buf) throws IOException {
            int n = buf.remaining();
            in.readFully(buf);
            bytesRead += n;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                bytesRead++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            bytesRead += Math.max(0, n);
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
