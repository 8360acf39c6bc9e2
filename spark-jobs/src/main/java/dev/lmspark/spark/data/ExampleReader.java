package dev.lmspark.spark.data;

import dev.lmspark.data.BadInputException;
import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.HadoopReadOptions;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.filter2.compat.FilterCompat;
import org.apache.parquet.hadoop.ParquetFileReader;

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
    private final ShardIndex index;
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
        this.columns = dataset.columns(split);
        this.index = new ShardIndex(dataset, split);
        this.files = new ShardFile[index.size()];
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
                        columns.contains(DatasetColumns.WORD_START),
                        columns.contains(DatasetColumns.NEXT_SENTENCE_LABEL),
                        columns.contains(DatasetColumns.TARGET_IDS));
        long id = fromId;
        int at = 0;
        while (id < toId) {
            int s = index.shardOf(id);
            ShardFile f = file(s);
            long local = id - index.shard(s).firstExampleId();
            int g = f.rowGroupOf(local);
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

    private ShardFile file(int s) throws IOException {
        if (files[s] == null) {
            files[s] =
                    ShardFile.read(
                            dataset, split, index.shard(s), conf, options, n -> bytesRead += n);
        }
        return files[s];
    }

    /** An open reader of shard {@code s}; at most {@value #OPEN_FILES} stay open. */
    private ParquetFileReader reader(int s) throws IOException {
        ParquetFileReader r = open.get(s);
        if (r != null) {
            return r;
        }
        r = files[s].open(options);
        open.put(s, r);
        if (open.size() > OPEN_FILES) {
            Iterator<Map.Entry<Integer, ParquetFileReader>> eldest = open.entrySet().iterator();
            ParquetFileReader old = eldest.next().getValue();
            eldest.remove();
            old.close();
        }
        return r;
    }

    /** Row group {@code g} of shard {@code s}, from the cache or decoded. */
    private Examples rowGroup(int s, int g) throws IOException {
        long key = ((long) s << 32) | g;
        Examples cached = cache.get(key);
        if (cached != null) {
            return cached;
        }
        ShardFile f = files[s];
        Examples decoded;
        try {
            decoded =
                    RowGroupDecoder.decode(
                            f,
                            reader(s).readRowGroup(g),
                            g,
                            columns,
                            dataset.maxLength(),
                            index.shard(s).firstExampleId() + f.groupStart[g]);
        } catch (RowGroupDecoder.ContractError e) {
            throw new IOException(f.name + ": " + e.getMessage());
        } catch (IOException | RuntimeException e) {
            throw new IOException(
                    f.name
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
}
