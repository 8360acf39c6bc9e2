package dev.lmspark.data.collate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class SentenceSplitterTest {

    @Test
    void splitsAtTerminatorBeforeUpperCase() {
        assertEquals(
                List.of("Hello world.", "This is it."),
                SentenceSplitter.split("Hello world. This is it."));
        assertEquals(List.of("Wait!", "Go on."), SentenceSplitter.split("Wait! Go on."));
        assertEquals(List.of("Why?", "Because."), SentenceSplitter.split("Why? Because."));
        assertEquals(
                List.of("Unicode.", "Élan vital."), SentenceSplitter.split("Unicode. Élan vital."));
    }

    @Test
    void splitsBeforeDigitsAndOpeningQuotesOrBrackets() {
        assertEquals(List.of("Wait!", "42 apples."), SentenceSplitter.split("Wait! 42 apples."));
        assertEquals(
                List.of("He asked?", "\"Quote me.\"", "Then he left."),
                SentenceSplitter.split("He asked? \"Quote me.\" Then he left."));
        assertEquals(
                List.of("Said ‘no.’", "‘Yes’ he said."),
                SentenceSplitter.split("Said ‘no.’ ‘Yes’ he said."));
        assertEquals(
                List.of("Ends here (really.)", "Next one"),
                SentenceSplitter.split("Ends here (really.) Next one"));
        assertEquals(
                List.of("A start.", "[Note] here.", "(Aside) there"),
                SentenceSplitter.split("A start. [Note] here. (Aside) there"));
    }

    @Test
    void noSplitBeforeLowerCaseOrWithoutSpace() {
        assertEquals(
                List.of("no split before lowercase. like this"),
                SentenceSplitter.split("no split before lowercase. like this"));
        assertEquals(List.of("Pi is 3.14 or so"), SentenceSplitter.split("Pi is 3.14 or so"));
        assertEquals(List.of("a.B c"), SentenceSplitter.split("a.B c"));
        assertEquals(
                List.of("Hello, World and more"), SentenceSplitter.split("Hello, World and more"));
    }

    @Test
    void everyLineBreakEndsASentence() {
        assertEquals(
                List.of("Line one", "line two", "Line three"),
                SentenceSplitter.split("Line one\nline two\r\n\r\nLine three"));
        assertEquals(
                List.of("First.", "Second", "third."),
                SentenceSplitter.split("\n\nFirst. Second\nthird.\n"));
    }

    @Test
    void whitespaceIsStrippedAndBlankSentencesDropped() {
        assertEquals(
                List.of("Hi.", "Multiple spaces"),
                SentenceSplitter.split("  Hi.   Multiple spaces  "));
        assertEquals(List.of("One.", "Two"), SentenceSplitter.split("One.\tTwo"));
        assertEquals(List.of(), SentenceSplitter.split("  \n  \n"));
        assertEquals(List.of(), SentenceSplitter.split(""));
        assertEquals(List.of("Really?!", "Yes."), SentenceSplitter.split("Really?! Yes."));
    }
}
