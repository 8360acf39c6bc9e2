package dev.lmspark.cli;

import java.util.Locale;

/** The pretraining objective a quickstart demonstrates. */
enum Objective {
    /** Masked LM (+NSP): prose corpus, WordPiece. */
    MLM,
    /** Causal LM (+FIM): code corpus, byte-level BPE. */
    CLM;

    static Objective fromCliName(String name) {
        for (Objective o : values()) {
            if (o.name().equalsIgnoreCase(name)) {
                return o;
            }
        }
        throw new IllegalArgumentException("unknown objective '" + name + "'; use mlm or clm");
    }

    String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
