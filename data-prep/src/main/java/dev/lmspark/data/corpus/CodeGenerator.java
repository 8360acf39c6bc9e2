package dev.lmspark.data.corpus;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Small Python-like modules: a header comment, then a few functions over one domain (an entity with
 * fields), each following one of a handful of idioms (sum, filter, maximum, count, transform,
 * lookup table, class). Identifiers are consistent inside a module and indentation is regular,
 * which gives a causal model — and fill-in-the-middle — structure to learn: a function body is
 * predictable from its signature and from the code around it.
 */
final class CodeGenerator {

    private record Domain(String entity, String collection, List<String> fields) {}

    private static final List<Domain> DOMAINS =
            List.of(
                    new Domain(
                            "order", "orders", List.of("price", "quantity", "discount", "weight")),
                    new Domain("sensor", "sensors", List.of("reading", "voltage", "offset", "age")),
                    new Domain("invoice", "invoices", List.of("amount", "tax", "days_late", "fee")),
                    new Domain("player", "players", List.of("score", "level", "wins", "losses")),
                    new Domain(
                            "station", "stations", List.of("load", "delay", "capacity", "trains")),
                    new Domain("tree", "trees", List.of("height", "age", "girth", "yield_kg")),
                    new Domain("patient", "patients", List.of("pulse", "dose", "weight", "visits")),
                    new Domain("file", "files", List.of("size", "lines", "errors", "version")),
                    new Domain(
                            "account",
                            "accounts",
                            List.of("balance", "limit", "credits", "debits")),
                    new Domain(
                            "route", "routes", List.of("distance", "stops", "duration", "cost")));

    private CodeGenerator() {}

    static String document(SplittableRandom r) {
        Domain d = DOMAINS.get(r.nextInt(DOMAINS.size()));
        StringBuilder doc = new StringBuilder(900);
        doc.append("# Utilities for working with ").append(d.collection).append(".\n");
        int functions = 1 + r.nextInt(4);
        List<Integer> used = new ArrayList<>();
        for (int f = 0; f < functions; f++) {
            int kind = r.nextInt(8);
            if (used.contains(kind)) {
                continue;
            }
            used.add(kind);
            doc.append("\n\n");
            String field = d.fields.get(r.nextInt(d.fields.size()));
            doc.append(function(r, kind, d, field));
        }
        return doc.toString();
    }

    private static String function(SplittableRandom r, int kind, Domain d, String field) {
        String e = d.entity;
        String c = d.collection;
        return switch (kind) {
            case 0 ->
                    "def total_"
                            + field
                            + "("
                            + c
                            + "):\n"
                            + "    \"\"\"Return the sum of "
                            + field
                            + " over all "
                            + c
                            + ".\"\"\"\n"
                            + "    total = 0\n"
                            + "    for "
                            + e
                            + " in "
                            + c
                            + ":\n"
                            + "        total += "
                            + e
                            + "."
                            + field
                            + "\n"
                            + "    return total\n";
            case 1 -> {
                int limit = 1 + r.nextInt(99);
                yield "def "
                        + c
                        + "_above("
                        + c
                        + ", limit="
                        + limit
                        + "):\n"
                        + "    result = []\n"
                        + "    for "
                        + e
                        + " in "
                        + c
                        + ":\n"
                        + "        if "
                        + e
                        + "."
                        + field
                        + " > limit:\n"
                        + "            result.append("
                        + e
                        + ")\n"
                        + "    return result\n";
            }
            case 2 ->
                    "def max_"
                            + field
                            + "("
                            + c
                            + "):\n"
                            + "    if not "
                            + c
                            + ":\n"
                            + "        return None\n"
                            + "    best = "
                            + c
                            + "[0]\n"
                            + "    for "
                            + e
                            + " in "
                            + c
                            + "[1:]:\n"
                            + "        if "
                            + e
                            + "."
                            + field
                            + " > best."
                            + field
                            + ":\n"
                            + "            best = "
                            + e
                            + "\n"
                            + "    return best\n";
            case 3 -> {
                int threshold = r.nextInt(50);
                yield "def count_"
                        + c
                        + "("
                        + c
                        + ", threshold="
                        + threshold
                        + "):\n"
                        + "    count = 0\n"
                        + "    for "
                        + e
                        + " in "
                        + c
                        + ":\n"
                        + "        if "
                        + e
                        + "."
                        + field
                        + " >= threshold:\n"
                        + "            count += 1\n"
                        + "    return count\n";
            }
            case 4 -> {
                int factor = 2 + r.nextInt(9);
                yield "def scale_"
                        + field
                        + "("
                        + c
                        + ", factor="
                        + factor
                        + "):\n"
                        + "    return ["
                        + e
                        + "."
                        + field
                        + " * factor for "
                        + e
                        + " in "
                        + c
                        + "]\n";
            }
            case 5 ->
                    "def index_by_"
                            + field
                            + "("
                            + c
                            + "):\n"
                            + "    table = {}\n"
                            + "    for "
                            + e
                            + " in "
                            + c
                            + ":\n"
                            + "        table.setdefault("
                            + e
                            + "."
                            + field
                            + ", []).append("
                            + e
                            + ")\n"
                            + "    return table\n";
            case 6 -> {
                String cls = Character.toUpperCase(e.charAt(0)) + e.substring(1);
                StringBuilder b = new StringBuilder();
                b.append("class ").append(cls).append(":\n");
                b.append("    def __init__(self");
                for (String f : d.fields) {
                    b.append(", ").append(f);
                }
                b.append("):\n");
                for (String f : d.fields) {
                    b.append("        self.").append(f).append(" = ").append(f).append('\n');
                }
                b.append("\n    def __repr__(self):\n");
                b.append("        return f\"")
                        .append(cls)
                        .append("(")
                        .append(field)
                        .append("={self.")
                        .append(field)
                        .append("})\"\n");
                yield b.toString();
            }
            default ->
                    "def average_"
                            + field
                            + "("
                            + c
                            + "):\n"
                            + "    if len("
                            + c
                            + ") == 0:\n"
                            + "        return 0.0\n"
                            + "    return total_"
                            + field
                            + "("
                            + c
                            + ") / len("
                            + c
                            + ")\n";
        };
    }
}
