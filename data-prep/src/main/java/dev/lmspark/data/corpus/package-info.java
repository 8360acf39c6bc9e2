/**
 * The built-in sample corpus: seeded, generated documents with learnable structure (topical prose
 * for masked-LM and next-sentence prediction, small code modules for causal LM and
 * fill-in-the-middle), so lmspark can be tried end to end without outside data.
 */
package dev.lmspark.data.corpus;
