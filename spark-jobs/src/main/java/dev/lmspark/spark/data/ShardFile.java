package dev.lmspark.spark.data;

import dev.lmspark.spark.data.PreparedDataset.Shard;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.InputFile;
import org.apache.parquet.io.SeekableInputStream;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;

/**
 * One Parquet shard of a split as the reader knows it after its footer: the file, the row each row
 * group starts at, and the leaf column of each of the split's columns, every one checked against
 * the manifest and the dataset's column contract (INT64 ids, INT32 values, lists of exactly the
 * array columns). Opening reads only the footer; {@link #open} gives a reader of its row groups.
 */
final class ShardFile {
    final String name;
    final ParquetMetadata footer;

    /** groupStart[g] = the first row of row group g within the shard; the last entry = rows. */
    final long[] groupStart;

    /** The leaf column of each of the split's columns, in the split's column order. */
    final List<ColumnDescriptor> descriptors;

    private final String split;
    private final InputFile input;

    private ShardFile(
            String name,
            String split,
            InputFile input,
            ParquetMetadata footer,
            long[] groupStart,
            List<ColumnDescriptor> descriptors) {
        this.name = name;
        this.split = split;
        this.input = input;
        this.footer = footer;
        this.groupStart = groupStart;
        this.descriptors = descriptors;
    }

    /**
     * Reads {@code shard}'s footer and checks it.
     *
     * @param read told every byte read from the file system, now and by later {@link #open}s
     * @throws IOException naming the file when it is missing, not Parquet, or not what the manifest
     *     and the column contract say
     */
    static ShardFile read(
            PreparedDataset dataset,
            String split,
            Shard shard,
            Configuration conf,
            ParquetReadOptions options,
            LongConsumer read)
            throws IOException {
        Path path = dataset.file(shard);
        String name = path.toString();
        InputFile input;
        try {
            input = new CountingInputFile(HadoopInputFile.fromPath(path, conf), read);
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
        List<ColumnDescriptor> descriptors =
                descriptors(name, footer.getFileMetaData().getSchema(), dataset, split);
        return new ShardFile(name, split, input, footer, starts, descriptors);
    }

    /** The row group holding row {@code local} of the shard. */
    int rowGroupOf(long local) {
        return ShardIndex.last(groupStart, groupStart.length - 1, local);
    }

    /**
     * A reader of the shard's row groups, for the split's columns only.
     *
     * @throws IOException naming the file when it was deleted since its footer was read, or cannot
     *     be opened
     */
    ParquetFileReader open(ParquetReadOptions options) throws IOException {
        SeekableInputStream in;
        try {
            in = input.newStream();
        } catch (FileNotFoundException e) {
            throw new IOException(
                    name
                            + " is missing (a "
                            + split
                            + " shard listed in "
                            + PreparedDataset.MANIFEST
                            + ", deleted since it was first read); restore it or prepare the"
                            + " dataset again",
                    e);
        }
        ParquetFileReader r;
        try {
            r = ParquetFileReader.open(input, footer, options, in);
        } catch (IOException | RuntimeException e) {
            in.close();
            throw new IOException(name + " cannot be opened (" + e.getMessage() + ")", e);
        }
        r.setRequestedSchema(descriptors);
        return r;
    }

    /** The leaf column of each of the split's columns, checked against the contract. */
    private static List<ColumnDescriptor> descriptors(
            String name, MessageType schema, PreparedDataset dataset, String split)
            throws IOException {
        List<ColumnDescriptor> out = new ArrayList<>();
        for (String column : dataset.columns(split)) {
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
            boolean array = RowGroupDecoder.isArray(column);
            PrimitiveTypeName type = found.getPrimitiveType().getPrimitiveTypeName();
            PrimitiveTypeName expected =
                    RowGroupDecoder.isWide(column)
                            ? PrimitiveTypeName.INT64
                            : PrimitiveTypeName.INT32;
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
}
