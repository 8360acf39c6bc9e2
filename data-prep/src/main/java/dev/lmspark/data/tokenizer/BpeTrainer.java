package dev.lmspark.data.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.IntConsumer;

/**
 * Byte-pair-encoding trainer over counted words, the algorithm of the Hugging Face {@code
 * BpeTrainer} (and, with a continuing-subword prefix, of its {@code WordPieceTrainer}).
 *
 * <p>The vocabulary starts with the special tokens, then the alphabet sorted by code point (every
 * character of every word, plus an optional initial alphabet), then — with a prefix such as {@code
 * ##} — the prefixed form of every character seen inside a word. It then repeatedly merges the most
 * frequent adjacent pair (ties go to the pair of smaller ids, so the result depends only on the
 * counts) until the vocabulary has {@code vocabSize} entries or no pair occurs {@code minFrequency}
 * times. Pair counts are updated incrementally: a merge only revisits the words that hold the pair.
 */
public final class BpeTrainer {
    private final int vocabSize;
    private final long minFrequency;
    private final List<String> specialTokens;
    private final List<String> initialAlphabet;
    private final String continuingSubwordPrefix;

    private BpeTrainer(Builder builder) {
        this.vocabSize = builder.vocabSize;
        this.minFrequency = builder.minFrequency;
        this.specialTokens = List.copyOf(builder.specialTokens);
        this.initialAlphabet = List.copyOf(builder.initialAlphabet);
        this.continuingSubwordPrefix = builder.continuingSubwordPrefix;
    }

    /** A trained model: the vocabulary in id order and the merges in rank order. */
    public record Result(List<String> vocab, List<String[]> merges, int alphabetSize) {}

    /**
     * Trains on {@code wordCounts} (word → occurrences).
     *
     * @throws IllegalArgumentException when there are no words, or the vocabulary size cannot hold
     *     the special tokens and the alphabet
     */
    public Result train(Map<String, Long> wordCounts) {
        if (wordCounts.isEmpty()) {
            throw new IllegalArgumentException("no words to train on: the corpus is empty");
        }
        // Sorted words make every id assignment below independent of map order.
        TreeMap<String, Long> sorted = new TreeMap<>(wordCounts);
        List<String> vocab = new ArrayList<>(specialTokens);
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < vocab.size(); i++) {
            ids.put(vocab.get(i), i);
        }

        TreeSet<Integer> alphabet = new TreeSet<>();
        TreeSet<Integer> continuing = new TreeSet<>();
        for (String word : sorted.keySet()) {
            int[] cps = word.codePoints().toArray();
            for (int i = 0; i < cps.length; i++) {
                alphabet.add(cps[i]);
                if (i > 0 && continuingSubwordPrefix != null) {
                    continuing.add(cps[i]);
                }
            }
        }
        for (String c : initialAlphabet) {
            alphabet.add(c.codePointAt(0));
        }
        IntConsumer addChar = cp -> add(new String(Character.toChars(cp)), vocab, ids);
        alphabet.forEach(addChar::accept);
        continuing.forEach(
                cp -> add(continuingSubwordPrefix + new String(Character.toChars(cp)), vocab, ids));
        int alphabetSize = vocab.size() - specialTokens.size();
        if (vocabSize < vocab.size()) {
            throw new IllegalArgumentException(
                    "--vocab-size "
                            + vocabSize
                            + " is smaller than the "
                            + specialTokens.size()
                            + " special tokens plus the corpus alphabet of "
                            + alphabetSize
                            + " symbols; use at least "
                            + vocab.size());
        }

        int n = sorted.size();
        int[][] words = new int[n][];
        long[] counts = new long[n];
        int w = 0;
        for (Map.Entry<String, Long> e : sorted.entrySet()) {
            int[] cps = e.getKey().codePoints().toArray();
            int[] symbols = new int[cps.length];
            for (int i = 0; i < cps.length; i++) {
                String s = new String(Character.toChars(cps[i]));
                symbols[i] =
                        ids.get(
                                i > 0 && continuingSubwordPrefix != null
                                        ? continuingSubwordPrefix + s
                                        : s);
            }
            words[w] = symbols;
            counts[w] = e.getValue();
            w++;
        }

        PairTable pairs = new PairTable();
        for (int i = 0; i < n; i++) {
            pairs.addWord(i, words[i], counts[i], null);
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>();
        pairs.counts.forEach(
                (pair, count) -> {
                    if (count[0] > 0) {
                        queue.add(new Candidate(pair, count[0]));
                    }
                });

        List<String[]> merges = new ArrayList<>();
        while (vocab.size() < vocabSize && !queue.isEmpty()) {
            Candidate top = queue.poll();
            long current = pairs.count(top.pair);
            if (current != top.count) {
                if (current > 0) {
                    queue.add(new Candidate(top.pair, current));
                }
                continue;
            }
            if (current < Math.max(1, minFrequency)) {
                break;
            }
            int a = first(top.pair);
            int b = second(top.pair);
            String partA = vocab.get(a);
            String partB = vocab.get(b);
            if (continuingSubwordPrefix != null && partB.startsWith(continuingSubwordPrefix)) {
                partB = partB.substring(continuingSubwordPrefix.length());
            }
            int merged = add(partA + partB, vocab, ids);
            merges.add(new String[] {vocab.get(a), vocab.get(b)});

            Map<Long, Boolean> touched = new HashMap<>();
            int[] holders = pairs.holders(top.pair);
            for (int holder : holders) {
                int[] symbols = words[holder];
                if (!contains(symbols, a, b)) {
                    continue; // stale entry: an earlier merge already consumed the pair here
                }
                pairs.removeWord(symbols, counts[holder]);
                int[] next = merge(symbols, a, b, merged);
                words[holder] = next;
                pairs.addWord(holder, next, counts[holder], touched);
            }
            for (Long pair : touched.keySet()) {
                long count = pairs.count(pair);
                if (count > 0) {
                    queue.add(new Candidate(pair, count));
                }
            }
        }
        return new Result(List.copyOf(vocab), List.copyOf(merges), alphabetSize);
    }

    private static int add(String token, List<String> vocab, Map<String, Integer> ids) {
        Integer id = ids.get(token);
        if (id != null) {
            return id;
        }
        vocab.add(token);
        ids.put(token, vocab.size() - 1);
        return vocab.size() - 1;
    }

    private static boolean contains(int[] symbols, int a, int b) {
        for (int i = 0; i + 1 < symbols.length; i++) {
            if (symbols[i] == a && symbols[i + 1] == b) {
                return true;
            }
        }
        return false;
    }

    /** Replaces each non-overlapping (a, b), left to right, with {@code merged}. */
    static int[] merge(int[] symbols, int a, int b, int merged) {
        int[] out = new int[symbols.length];
        int len = 0;
        for (int i = 0; i < symbols.length; i++) {
            if (i + 1 < symbols.length && symbols[i] == a && symbols[i + 1] == b) {
                out[len++] = merged;
                i++;
            } else {
                out[len++] = symbols[i];
            }
        }
        return Arrays.copyOf(out, len);
    }

    private static long pairKey(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private static int first(long pair) {
        return (int) (pair >>> 32);
    }

    private static int second(long pair) {
        return (int) pair;
    }

    /** Pair counts and, per pair, the words that (may) hold it. */
    private static final class PairTable {
        final Map<Long, long[]> counts = new HashMap<>();
        final Map<Long, int[]> holders = new HashMap<>();

        long count(long pair) {
            long[] c = counts.get(pair);
            return c == null ? 0 : c[0];
        }

        int[] holders(long pair) {
            int[] h = holders.get(pair);
            return h == null ? new int[0] : Arrays.copyOfRange(h, 1, h[0] + 1);
        }

        void addWord(int word, int[] symbols, long count, Map<Long, Boolean> touched) {
            for (int i = 0; i + 1 < symbols.length; i++) {
                long pair = pairKey(symbols[i], symbols[i + 1]);
                counts.computeIfAbsent(pair, k -> new long[1])[0] += count;
                addHolder(pair, word);
                if (touched != null) {
                    touched.put(pair, Boolean.TRUE);
                }
            }
        }

        void removeWord(int[] symbols, long count) {
            for (int i = 0; i + 1 < symbols.length; i++) {
                counts.get(pairKey(symbols[i], symbols[i + 1]))[0] -= count;
            }
        }

        /**
         * Holder lists store their length in slot 0; a word appended twice in a row is kept once.
         */
        private void addHolder(long pair, int word) {
            int[] h = holders.get(pair);
            if (h == null) {
                h = new int[4];
            } else if (h[h[0]] == word) {
                return;
            } else if (h[0] + 1 == h.length) {
                h = Arrays.copyOf(h, h.length * 2);
            }
            h[++h[0]] = word;
            holders.put(pair, h);
        }
    }

    private record Candidate(long pair, long count) implements Comparable<Candidate> {
        @Override
        public int compareTo(Candidate o) {
            if (count != o.count) {
                return Long.compare(o.count, count);
            }
            int c = Integer.compare(first(pair), first(o.pair));
            return c != 0 ? c : Integer.compare(second(pair), second(o.pair));
        }
    }

    /** Starts a trainer. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder; {@link #setVocabSize} is required. */
    public static final class Builder {
        private int vocabSize = -1;
        private long minFrequency = 0;
        private List<String> specialTokens = List.of();
        private List<String> initialAlphabet = List.of();
        private String continuingSubwordPrefix;

        /** The size of the final vocabulary, special tokens included. */
        public Builder setVocabSize(int vocabSize) {
            this.vocabSize = vocabSize;
            return this;
        }

        /** Pairs seen fewer times are never merged; default 0 (any pair that occurs). */
        public Builder optMinFrequency(long minFrequency) {
            this.minFrequency = minFrequency;
            return this;
        }

        /** Tokens given the first ids, in order; default none. */
        public Builder optSpecialTokens(List<String> specialTokens) {
            this.specialTokens = specialTokens;
            return this;
        }

        /**
         * Single characters always in the vocabulary (e.g. the 256 byte characters); default none.
         */
        public Builder optInitialAlphabet(List<String> initialAlphabet) {
            this.initialAlphabet = initialAlphabet;
            return this;
        }

        /**
         * Prefix marking a symbol that continues a word ({@code ##} for WordPiece); default none.
         */
        public Builder optContinuingSubwordPrefix(String prefix) {
            this.continuingSubwordPrefix = prefix;
            return this;
        }

        /** Validates and builds. */
        public BpeTrainer build() {
            if (vocabSize <= 0) {
                throw new IllegalArgumentException(
                        "vocabulary size " + vocabSize + " must be positive");
            }
            if (minFrequency < 0) {
                throw new IllegalArgumentException(
                        "minimum frequency " + minFrequency + " must not be negative");
            }
            for (String c : initialAlphabet) {
                if (c.codePointCount(0, c.length()) != 1) {
                    throw new IllegalArgumentException(
                            "initial alphabet entry '" + c + "' is not one character");
                }
            }
            if (continuingSubwordPrefix != null && continuingSubwordPrefix.isEmpty()) {
                continuingSubwordPrefix = null;
            }
            return new BpeTrainer(this);
        }
    }
}
