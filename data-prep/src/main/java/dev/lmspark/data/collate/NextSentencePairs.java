package dev.lmspark.data.collate;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Google BERT's {@code create_instances_from_document}: sentence pairs for next-sentence
 * prediction. Sentences accumulate until a target length (the window less 3, or with {@code
 * shortSeqProb} a shorter random one); a random split point makes A; B is the rest of the chunk or,
 * half the time (always when the chunk is one sentence), text from a random other document of the
 * same split — and then the unused sentences of the chunk are put back for the next pair. Pairs are
 * truncated longest-first, one token at a time from a random end.
 *
 * <p>Done in two steps so Spark can fetch the random document: {@link #plan} decides everything
 * that depends on this document alone, {@link #complete} takes B from the random document.
 */
public final class NextSentencePairs implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int maxLength;
    private final double shortSeqProb;

    /**
     * @param maxLength the window, {@code [CLS] A [SEP] B [SEP]} included (at least 5)
     * @param shortSeqProb chance of a shorter target length for a document (Google BERT: 0.1)
     */
    public NextSentencePairs(int maxLength, double shortSeqProb) {
        if (maxLength < 5) {
            throw new IllegalArgumentException(
                    "--max-length "
                            + maxLength
                            + " is too short for [CLS] A [SEP] B [SEP]; use at least 5");
        }
        if (!(shortSeqProb >= 0 && shortSeqProb <= 1)) {
            throw new IllegalArgumentException(
                    "--short-seq-prob " + shortSeqProb + " must be between 0 and 1");
        }
        this.maxLength = maxLength;
        this.shortSeqProb = shortSeqProb;
    }

    /**
     * One planned pair.
     *
     * @param instance index of the pair within its document
     * @param a segment A
     * @param b segment B when it follows A; null when it comes from a random document
     * @param randomRank the random document's rank within the split (when {@code b} is null)
     * @param randomStart where in the random document B starts, as a fraction in [0, 1)
     * @param targetBLength how many tokens B should reach
     */
    public record Plan(
            int instance,
            Segment a,
            Segment b,
            long randomRank,
            double randomStart,
            int targetBLength)
            implements Serializable {
        public boolean isRandomNext() {
            return b == null;
        }
    }

    /**
     * A finished pair. {@code label}: 0 = B follows A, 1 = B is random (Hugging Face's convention).
     */
    public record Pair(Segment a, Segment b, int label) {}

    /**
     * Plans the pairs of one document.
     *
     * @param sentences the document's tokenized sentences (empty ones are skipped)
     * @param rank this document's rank among the {@code documentsInSplit} of its split
     * @param random the document's generator
     */
    public List<Plan> plan(
            List<Segment> sentences, long rank, long documentsInSplit, SplittableRandom random) {
        if (documentsInSplit < 2) {
            throw new IllegalArgumentException(
                    "next-sentence pairs need at least two documents in a split, found "
                            + documentsInSplit);
        }
        List<Segment> doc = new ArrayList<>();
        for (Segment s : sentences) {
            if (s.length() > 0) {
                doc.add(s);
            }
        }
        int maxTokens = maxLength - 3;
        int target = maxTokens;
        if (random.nextDouble() < shortSeqProb) {
            target = 2 + random.nextInt(maxTokens - 1);
        }
        List<Plan> plans = new ArrayList<>();
        List<Segment> chunk = new ArrayList<>();
        int chunkLength = 0;
        int i = 0;
        while (i < doc.size()) {
            chunk.add(doc.get(i));
            chunkLength += doc.get(i).length();
            if (i == doc.size() - 1 || chunkLength >= target) {
                int aEnd = chunk.size() >= 2 ? 1 + random.nextInt(chunk.size() - 1) : 1;
                Segment a = Segment.concat(chunk.subList(0, aEnd));
                if (chunk.size() == 1 || random.nextDouble() < 0.5) {
                    long r = (long) (random.nextDouble() * (documentsInSplit - 1));
                    long randomRank = r >= rank ? r + 1 : r;
                    plans.add(
                            new Plan(
                                    plans.size(),
                                    a,
                                    null,
                                    randomRank,
                                    random.nextDouble(),
                                    Math.max(1, target - a.length())));
                    i -= chunk.size() - aEnd; // the unused sentences go back
                } else {
                    Segment b = Segment.concat(chunk.subList(aEnd, chunk.size()));
                    plans.add(new Plan(plans.size(), a, b, -1, 0, 0));
                }
                chunk = new ArrayList<>();
                chunkLength = 0;
            }
            i++;
        }
        return plans;
    }

    /**
     * Finishes a plan: takes B from {@code randomDocument} when the plan asks for it, then
     * truncates the pair to the window.
     *
     * @param randomDocument the random document's sentences (ignored when B follows A)
     * @param random the pair's own generator, for truncation
     */
    public Pair complete(Plan plan, List<Segment> randomDocument, SplittableRandom random) {
        Segment b = plan.b();
        if (plan.isRandomNext()) {
            List<Segment> doc = new ArrayList<>();
            for (Segment s : randomDocument) {
                if (s.length() > 0) {
                    doc.add(s);
                }
            }
            if (doc.isEmpty()) {
                throw new IllegalArgumentException("the random document has no tokens");
            }
            int start = (int) (plan.randomStart() * doc.size());
            List<Segment> taken = new ArrayList<>();
            int length = 0;
            for (int j = start; j < doc.size(); j++) {
                taken.add(doc.get(j));
                length += doc.get(j).length();
                if (length >= plan.targetBLength()) {
                    break;
                }
            }
            b = Segment.concat(taken);
        }
        Segment[] pair = truncate(plan.a(), b, maxLength - 3, random);
        return new Pair(pair[0], pair[1], plan.isRandomNext() ? 1 : 0);
    }

    /**
     * Google's {@code truncate_seq_pair}: trims the longer side from a random end until it fits.
     */
    static Segment[] truncate(Segment a, Segment b, int maxTokens, SplittableRandom random) {
        int aFrom = 0;
        int aTo = a.length();
        int bFrom = 0;
        int bTo = b.length();
        while ((aTo - aFrom) + (bTo - bFrom) > maxTokens) {
            boolean trimA = (aTo - aFrom) > (bTo - bFrom);
            boolean front = random.nextDouble() < 0.5;
            if (trimA) {
                if (front) {
                    aFrom++;
                } else {
                    aTo--;
                }
            } else if (front) {
                bFrom++;
            } else {
                bTo--;
            }
        }
        return new Segment[] {a.slice(aFrom, aTo), b.slice(bFrom, bTo)};
    }
}
