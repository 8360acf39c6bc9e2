package dev.lmspark.spark.ml;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.collate.NextSentencePairs;
import dev.lmspark.data.collate.Segment;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.spark.data.DatasetColumns;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * Google BERT next-sentence pairs from tokenized sentences ({@link NextSentencePairs}): each
 * document's pairs are planned on its own, random B segments are fetched from a random other
 * document of the same split by a join on (split, rank), then pairs are truncated and written as
 * {@code [CLS] A [SEP] B [SEP]} sequences with segment ids and {@code next_sentence_label}.
 *
 * <p>Input: {@code split}, {@code doc_id} and the sentences column with its {@code _word_start}
 * twin (from {@link TokenizeStage} with {@code sentences=true}). Output: sequence rows.
 */
public final class NspPairingStage extends LmStage
        implements SharedParams.HasInputCol, SharedParams.HasMaxLength, SharedParams.HasSeed {
    private static final long serialVersionUID = 1L;
    static final long PLAN_STREAM = 11;
    static final long TRUNCATE_STREAM = 12;

    private final Param<String> inputCol =
            new Param<>(this, "inputCol", "tokenized sentences column");
    private final IntParam maxLength =
            intParam(this, "maxLength", "window incl. [CLS] A [SEP] B [SEP]", 5);
    private final DoubleParam shortSeqProb =
            probability(this, "shortSeqProb", "chance of a shorter target length");
    private final LongParam seed = seedParam(this);

    public NspPairingStage(String uid) {
        super(uid);
        setDefault(inputCol, "sentences");
        setDefault(maxLength, 128);
        setDefault(shortSeqProb, 0.1);
        setDefault(seed, 42L);
    }

    public NspPairingStage() {
        this(Identifiable.randomUID("lmspark_nsp"));
    }

    public NspPairingStage setTokenizer(String p) {
        set(tokenizer, p);
        return this;
    }

    public NspPairingStage setInputCol(String c) {
        set(inputCol, c);
        return this;
    }

    public NspPairingStage setMaxLength(int n) {
        set(maxLength, n);
        return this;
    }

    public NspPairingStage setShortSeqProb(double p) {
        set(shortSeqProb, p);
        return this;
    }

    public NspPairingStage setSeed(long s) {
        set(seed, s);
        return this;
    }

    public Param<String> inputCol() {
        return inputCol;
    }

    public IntParam maxLength() {
        return maxLength;
    }

    public DoubleParam shortSeqProb() {
        return shortSeqProb;
    }

    public LongParam seed() {
        return seed;
    }

    /** The {@code shortSeqProb} param's value. */
    public double getShortSeqProb() {
        return (Double) getOrDefault(shortSeqProb);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        String name = getClass().getSimpleName();
        require(schema, Sequences.SPLIT, DataTypes.StringType, name);
        require(schema, DatasetColumns.DOC_ID, DataTypes.LongType, name);
        require(
                schema,
                getInputCol(),
                DataTypes.createArrayType(
                        DataTypes.createArrayType(DataTypes.IntegerType, false), false),
                name);
        return Sequences.SCHEMA;
    }

    private record Doc(String split, long docId, int[][] ids, boolean[][] starts)
            implements java.io.Serializable {
        List<Segment> segments() {
            List<Segment> s = new ArrayList<>();
            for (int i = 0; i < ids.length; i++) {
                s.add(new Segment(ids[i], starts[i]));
            }
            return s;
        }
    }

    private record Planned(Doc doc, NextSentencePairs.Plan plan) implements java.io.Serializable {}

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        SpecialTokenIds specials = tokenizerSource(dataset.sparkSession()).tokenizer().specials();
        if (specials.cls() == null || specials.sep() == null) {
            throw new BadInputException(
                    "next-sentence pairs need a tokenizer with [CLS] and [SEP]");
        }
        int cls = specials.cls();
        int sep = specials.sep();
        long rootSeed = getSeed();
        NextSentencePairs pairs = new NextSentencePairs(getMaxLength(), getShortSeqProb());
        StructType schema = dataset.schema();
        int splitAt = schema.fieldIndex(Sequences.SPLIT);
        int docAt = schema.fieldIndex(DatasetColumns.DOC_ID);
        int idsAt = schema.fieldIndex(getInputCol());
        int startsAt = schema.fieldIndex(getInputCol() + "_word_start");

        JavaRDD<Doc> docs =
                dataset.toDF()
                        .javaRDD()
                        .map(
                                r ->
                                        new Doc(
                                                r.getString(splitAt),
                                                r.getLong(docAt),
                                                Sequences.intArrays(r, idsAt),
                                                Sequences.booleanArrays(r, startsAt)))
                        .filter(
                                d ->
                                        d.ids.length > 0
                                                && java.util.Arrays.stream(d.ids)
                                                        .anyMatch(s -> s.length > 0));
        // Rank documents within their split, in doc_id order: partners are drawn by rank.
        List<String> splits = new ArrayList<>(docs.map(Doc::split).distinct().collect());
        java.util.Collections.sort(splits);
        if (splits.isEmpty()) {
            return dataset.sparkSession().createDataFrame(List.of(), Sequences.SCHEMA);
        }
        JavaPairRDD<Tuple2<String, Long>, Doc> ranked = rank(docs, splits.get(0));
        for (String split : splits.subList(1, splits.size())) {
            ranked = ranked.union(rank(docs, split));
        }
        Map<String, Long> sizes = ranked.keys().map(Tuple2::_1).countByValue();
        for (Map.Entry<String, Long> e : sizes.entrySet()) {
            if (e.getValue() < 2) {
                throw new BadInputException(
                        "--nsp needs at least two documents in each split; the "
                                + e.getKey()
                                + " split has "
                                + e.getValue()
                                + " (add documents, or change"
                                + " --validation-fraction)");
            }
        }
        JavaRDD<Planned> planned =
                ranked.flatMap(
                        t -> {
                            Doc d = t._2();
                            long n = sizes.get(d.split);
                            var random = Seeds.random(rootSeed, PLAN_STREAM, d.docId);
                            List<Planned> out = new ArrayList<>();
                            for (NextSentencePairs.Plan p :
                                    pairs.plan(d.segments(), t._1()._2(), n, random)) {
                                out.add(new Planned(d, p));
                            }
                            return out.iterator();
                        });
        JavaRDD<Row> following =
                planned.filter(p -> !p.plan.isRandomNext())
                        .map(p -> finish(pairs, p, List.of(), rootSeed, cls, sep));
        JavaRDD<Row> random =
                planned.filter(p -> p.plan.isRandomNext())
                        .keyBy(p -> new Tuple2<>(p.doc.split, p.plan.randomRank()))
                        .join(ranked.mapValues(Doc::segments))
                        .values()
                        .map(t -> finish(pairs, t._1(), t._2(), rootSeed, cls, sep));
        return dataset.sparkSession().createDataFrame(following.union(random), Sequences.SCHEMA);
    }

    private static JavaPairRDD<Tuple2<String, Long>, Doc> rank(JavaRDD<Doc> docs, String split) {
        return docs.filter(d -> d.split.equals(split))
                .keyBy(d -> d.docId)
                .sortByKey()
                .values()
                .zipWithIndex()
                .mapToPair(t -> new Tuple2<>(new Tuple2<>(split, t._2()), t._1()));
    }

    private static Row finish(
            NextSentencePairs pairs,
            Planned p,
            List<Segment> randomDoc,
            long seed,
            int cls,
            int sep) {
        var random = Seeds.random(seed, TRUNCATE_STREAM, p.doc.docId, p.plan.instance());
        NextSentencePairs.Pair pair = pairs.complete(p.plan, randomDoc, random);
        Segment tokens =
                Segment.concat(
                        Segment.specials(cls),
                        pair.a(),
                        Segment.specials(sep),
                        pair.b(),
                        Segment.specials(sep));
        byte[] types = new byte[tokens.length()];
        java.util.Arrays.fill(types, pair.a().length() + 2, types.length, (byte) 1);
        return Sequences.row(
                p.doc.split, p.doc.docId, p.plan.instance(), tokens, types, pair.label());
    }

    public static MLReader<NspPairingStage> read() {
        return new DefaultParamsReader<>();
    }
}
