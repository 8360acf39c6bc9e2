package dev.lmspark.data.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SampleCorpusTest {

    @Test
    void documentsArePureFunctionsOfSeedAndIndex() {
        SampleCorpus a = new SampleCorpus(SampleCorpus.Kind.PROSE, 7);
        SampleCorpus b = new SampleCorpus(SampleCorpus.Kind.PROSE, 7);
        SampleCorpus other = new SampleCorpus(SampleCorpus.Kind.PROSE, 8);
        assertEquals(a.document(123), b.document(123));
        assertNotEquals(a.document(123), a.document(124));
        assertNotEquals(a.document(123), other.document(123));
    }

    @Test
    void proseKeepsToOneTopicAndOneProtagonist() {
        SampleCorpus corpus = new SampleCorpus(SampleCorpus.Kind.PROSE, 1);
        Map<String, Set<String>> topics = ProseGenerator.topicVocabularies();
        Set<String> distinct = new HashSet<>();
        for (int i = 0; i < 300; i++) {
            String doc = corpus.document(i);
            distinct.add(doc);
            // "Ada was a baker who lived near the market." names the protagonist and the topic.
            String role =
                    topics.keySet().stream()
                            .filter(r -> doc.substring(0, doc.indexOf('.')).contains(" " + r))
                            .reduce((x, y) -> x.length() >= y.length() ? x : y)
                            .orElseThrow(() -> new AssertionError("no trade in: " + doc));
            Set<String> own = topics.get(role);
            Set<String> foreign = new HashSet<>();
            topics.forEach((r, words) -> foreign.addAll(words));
            foreign.removeAll(own);
            // Topic words are never capitalised; invented names always are.
            for (String word : doc.split("[^\\p{L}]+")) {
                if (!word.equals(word.toLowerCase(Locale.ROOT))) {
                    continue;
                }
                assertFalse(
                        foreign.contains(word), "'" + word + "' is off topic " + role + ": " + doc);
            }
            String lower = doc.toLowerCase(Locale.ROOT);
            long names =
                    ProseGenerator.names().stream()
                            .filter(n -> lower.contains(n.toLowerCase(Locale.ROOT)))
                            .count();
            assertEquals(1, names, doc);
            // The first sentence ends with the invented town the protagonist lives in.
            String town =
                    first(doc).substring(first(doc).lastIndexOf(' ') + 1, first(doc).length() - 1);
            assertTrue(Character.isUpperCase(town.charAt(0)), town);
            assertTrue(doc.split("(?<=[.?!]) ").length >= 3, doc);
        }
        assertEquals(300, distinct.size());
    }

    private static String first(String doc) {
        return doc.substring(0, doc.indexOf('.') + 1);
    }

    @Test
    void inventedNamesGiveTheVocabularyALongTail() {
        SampleCorpus corpus = new SampleCorpus(SampleCorpus.Kind.PROSE, 2);
        Set<String> words = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            words.addAll(List.of(corpus.document(i).split("[^\\p{L}]+")));
        }
        assertTrue(words.size() > 3000, "distinct words: " + words.size());
    }

    @Test
    void codeModulesHaveRegularStructure() {
        SampleCorpus corpus = new SampleCorpus(SampleCorpus.Kind.CODE, 1);
        for (int i = 0; i < 200; i++) {
            String doc = corpus.document(i);
            assertTrue(doc.startsWith("# Utilities for working with "), doc);
            assertTrue(doc.contains("\ndef ") || doc.contains("\nclass "), doc);
            for (String line : doc.split("\n")) {
                int indent = line.length() - line.stripLeading().length();
                assertEquals(0, indent % 4, "indentation in steps of four: " + line);
            }
        }
    }

    @Test
    void jsonLinesAreOneLineEach() {
        SampleCorpus corpus = new SampleCorpus(SampleCorpus.Kind.CODE, 3);
        String line = new String(corpus.jsonLine(5), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(line.startsWith("{\"text\":\""), line);
        assertEquals(line.length() - 1, line.indexOf('\n'));
    }
}
