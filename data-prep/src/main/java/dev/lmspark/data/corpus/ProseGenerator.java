package dev.lmspark.data.corpus;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * English-like prose from a small probabilistic grammar. Each document keeps to one topic (its
 * nouns, verbs, adjectives, places and trade) and one protagonist, and its sentences continue one
 * another (the protagonist is named, then referred to by pronoun), so which sentence follows which
 * — next-sentence prediction — and which words fill a mask are learnable.
 */
final class ProseGenerator {

    private record Topic(
            String role,
            List<String> nouns,
            List<String> verbs,
            List<String> adjectives,
            List<String> places) {}

    private record Person(String name, String subject, String object, String possessive) {}

    private static final List<Topic> TOPICS =
            List.of(
                    topic(
                            "astronomer",
                            "star planet comet telescope orbit moon galaxy lens eclipse nebula"
                                    + " meteor chart",
                            "observe measure track photograph map study predict record",
                            "bright distant faint silver cold ancient enormous hidden",
                            "observatory hill desert plateau tower"),
                    topic(
                            "baker",
                            "bread oven flour loaf dough crust yeast basket pastry tray butter"
                                    + " recipe",
                            "bake knead slice mix taste sell prepare carry",
                            "warm golden soft sweet fresh crisp heavy simple",
                            "bakery kitchen market village square"),
                    topic(
                            "sailor",
                            "ship sail harbor wave rope anchor island compass storm deck mast"
                                    + " current",
                            "steer repair follow cross reach tie raise sight",
                            "salty rough calm wide grey narrow sturdy swift",
                            "harbor coast bay lighthouse reef"),
                    topic(
                            "farmer",
                            "field barley tractor harvest orchard fence seed cow pond barn plough"
                                    + " season",
                            "plant water harvest feed mend plough gather store",
                            "green dry fertile muddy ripe stony wooden quiet",
                            "farm valley meadow orchard riverbank"),
                    topic(
                            "musician",
                            "violin melody chord drum rhythm song choir stage piano note"
                                    + " concert score",
                            "play compose practice tune perform hum rehearse teach",
                            "loud gentle strange lively slow bright minor famous",
                            "hall theatre studio chapel garden"),
                    topic(
                            "doctor",
                            "patient fever medicine clinic bandage wound pulse remedy nurse"
                                    + " symptom dose ward",
                            "treat examine heal prescribe visit clean measure comfort",
                            "sick careful sterile weak steady urgent small painful",
                            "hospital clinic ward village pharmacy"),
                    topic(
                            "engineer",
                            "train track engine bridge signal carriage station boiler timetable"
                                    + " platform tunnel wheel",
                            "build inspect repair drive design test connect load",
                            "steel rusty fast noisy precise long modern broken",
                            "station depot tunnel yard workshop"),
                    topic(
                            "forester",
                            "tree pine oak trail fox owl branch moss river cabin axe clearing",
                            "climb cut follow watch plant guard cross shelter",
                            "tall dark damp old thick silent wild mossy",
                            "forest ridge cabin clearing glen"),
                    topic(
                            "merchant",
                            "coin silk spice ledger caravan stall price bargain crate scale"
                                    + " customer shipment",
                            "trade count weigh bargain pack sell buy lend",
                            "rare costly cheap foreign crowded honest busy valuable",
                            "bazaar market port warehouse guild"),
                    topic(
                            "chess player",
                            "board pawn knight bishop rook queen king move opening endgame clock"
                                    + " tournament",
                            "play sacrifice defend attack study analyse capture win",
                            "clever risky quiet sharp solid sudden careful brilliant",
                            "club library tournament cafe academy"));

    private static final List<Person> PEOPLE =
            List.of(
                    new Person("Ada", "she", "her", "her"),
                    new Person("Bruno", "he", "him", "his"),
                    new Person("Chiara", "she", "her", "her"),
                    new Person("Dmitri", "he", "him", "his"),
                    new Person("Elena", "she", "her", "her"),
                    new Person("Farid", "he", "him", "his"),
                    new Person("Greta", "she", "her", "her"),
                    new Person("Hugo", "he", "him", "his"),
                    new Person("Ingrid", "she", "her", "her"),
                    new Person("José", "he", "him", "his"),
                    new Person("Kaito", "he", "him", "his"),
                    new Person("Léa", "she", "her", "her"),
                    new Person("Marek", "he", "him", "his"),
                    new Person("Nadia", "she", "her", "her"),
                    new Person("Zoë", "she", "her", "her"),
                    new Person("Björn", "he", "him", "his"),
                    new Person("the twins", "they", "them", "their"));

    private static final List<String> TIMES =
            words(
                    "at dawn,in the evening,before noon,after the rain,every morning,at midnight,"
                            + "that winter,in early spring,on the third day,for many years",
                    ",");
    private static final List<String> ADVERBS =
            words("slowly quickly carefully quietly proudly patiently gladly suddenly", " ");
    private static final List<String> PREPOSITIONS = words("near beside behind under above", " ");
    private static final List<String> NUMBERS =
            words("two three four five seven twelve 9 14 20 100", " ");

    private ProseGenerator() {}

    /** Each topic's trade and content words (for tests of topical consistency). */
    static Map<String, Set<String>> topicVocabularies() {
        Map<String, Set<String>> out = new LinkedHashMap<>();
        for (Topic t : TOPICS) {
            Set<String> words = new HashSet<>();
            for (List<String> list : List.of(t.nouns, t.verbs, t.adjectives, t.places)) {
                for (String w : list) {
                    words.add(w);
                    words.add(plural(w));
                    words.add(past(w));
                    words.add(thirdPerson(w));
                }
            }
            out.put(t.role, words);
        }
        return out;
    }

    /** The protagonists' names. */
    static List<String> names() {
        return PEOPLE.stream().map(Person::name).toList();
    }

    private static final String[] ONSETS = {
        "b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "qu", "r", "s",
        "sk", "st", "t", "th", "v", "w", "z"
    };
    private static final String[] VOWELS = {"a", "e", "i", "o", "u", "ae", "ia", "ou", "y"};
    private static final String[] CODAS = {"", "", "", "n", "r", "s", "l", "th", "nd", "x", "m"};
    private static final String[] PLACE_ENDINGS = {
        "", "ia", "on", "ar", "is", "heim", "ford", "mere"
    };

    /**
     * An invented name of two or three syllables, e.g. "Velmora": documents share a lexicon but
     * each brings names of its own, so the vocabulary has the long tail of real text.
     */
    static String inventedName(SplittableRandom r, boolean place) {
        StringBuilder b = new StringBuilder();
        int syllables = 2 + r.nextInt(2);
        for (int i = 0; i < syllables; i++) {
            b.append(ONSETS[r.nextInt(ONSETS.length)]).append(VOWELS[r.nextInt(VOWELS.length)]);
            if (i == syllables - 1 || r.nextInt(3) == 0) {
                b.append(CODAS[r.nextInt(CODAS.length)]);
            }
        }
        if (place) {
            b.append(PLACE_ENDINGS[r.nextInt(PLACE_ENDINGS.length)]);
        }
        return capitalise(b.toString());
    }

    static String document(SplittableRandom r) {
        Topic topic = TOPICS.get(r.nextInt(TOPICS.size()));
        Person who = PEOPLE.get(r.nextInt(PEOPLE.size()));
        String town = inventedName(r, true);
        String friend = inventedName(r, false);
        StringBuilder doc = new StringBuilder(1200);
        int paragraphs = 1 + r.nextInt(3);
        for (int p = 0; p < paragraphs; p++) {
            if (p > 0) {
                doc.append("\n\n");
            }
            int sentences = 3 + r.nextInt(5);
            for (int s = 0; s < sentences; s++) {
                if (s > 0) {
                    doc.append(' ');
                }
                if (p == 0 && s == 0) {
                    doc.append(introduction(r, topic, who, town));
                } else {
                    doc.append(sentence(r, topic, who, town, friend));
                }
            }
        }
        return doc.toString();
    }

    private static String introduction(SplittableRandom r, Topic t, Person who, String town) {
        String place = pick(r, t.places);
        boolean plural = who.subject.equals("they");
        return capitalise(who.name)
                + (plural ? " were " : " was ")
                + (plural ? plural(t.role) : article(t.role) + " " + t.role)
                + " who lived near the "
                + place
                + " of "
                + town
                + ".";
    }

    private static String sentence(
            SplittableRandom r, Topic t, Person who, String town, String friend) {
        // The protagonist is named now and then and otherwise referred to by pronoun.
        String subject = r.nextInt(4) == 0 ? who.name : who.subject;
        String noun = pick(r, t.nouns);
        String other = pick(r, t.nouns);
        String adj = pick(r, t.adjectives);
        String verb = pick(r, t.verbs);
        String s =
                switch (r.nextInt(13)) {
                    case 0 ->
                            subject
                                    + " "
                                    + past(verb)
                                    + " the "
                                    + adj
                                    + " "
                                    + noun
                                    + " "
                                    + pick(r, PREPOSITIONS)
                                    + " the "
                                    + other
                                    + ".";
                    case 1 ->
                            "The "
                                    + plural(noun)
                                    + " "
                                    + verb
                                    + " "
                                    + pick(r, ADVERBS)
                                    + " when the "
                                    + other
                                    + " is "
                                    + adj
                                    + ".";
                    case 2 ->
                            "Every "
                                    + t.role
                                    + " knows that "
                                    + article(adj)
                                    + " "
                                    + adj
                                    + " "
                                    + noun
                                    + " "
                                    + thirdPerson(verb)
                                    + " the "
                                    + other
                                    + ".";
                    case 3 ->
                            capitalise(pick(r, TIMES))
                                    + ", "
                                    + subject
                                    + " "
                                    + past(verb)
                                    + " "
                                    + pick(r, NUMBERS)
                                    + " "
                                    + plural(noun)
                                    + ".";
                    case 4 ->
                            "In the "
                                    + pick(r, t.places)
                                    + ", "
                                    + who.possessive
                                    + " "
                                    + noun
                                    + " looked "
                                    + adj
                                    + ".";
                    case 5 -> "\"Where is the " + noun + "?\" asked " + who.name + ".";
                    case 6 ->
                            "Because the "
                                    + noun
                                    + " was "
                                    + adj
                                    + ", "
                                    + subject
                                    + " had to "
                                    + verb
                                    + " the "
                                    + other
                                    + " "
                                    + pick(r, ADVERBS)
                                    + ".";
                    case 7 ->
                            capitalise(who.possessive)
                                    + " "
                                    + other
                                    + " was "
                                    + adj
                                    + ", but "
                                    + subject
                                    + " "
                                    + past(verb)
                                    + " it anyway.";
                    case 8 ->
                            "No other "
                                    + t.role
                                    + " could "
                                    + verb
                                    + " "
                                    + article(adj)
                                    + " "
                                    + adj
                                    + " "
                                    + noun
                                    + " as well as "
                                    + who.name
                                    + " could.";
                    case 10 ->
                            "The people of "
                                    + town
                                    + " said that the "
                                    + noun
                                    + " was "
                                    + adj
                                    + ".";
                    case 11 ->
                            friend
                                    + " brought "
                                    + who.object
                                    + " "
                                    + article(adj)
                                    + " "
                                    + adj
                                    + " "
                                    + noun
                                    + " from "
                                    + town
                                    + ".";
                    case 12 ->
                            subject
                                    + " and "
                                    + friend
                                    + " "
                                    + past(verb)
                                    + " the "
                                    + plural(noun)
                                    + " together.";
                    default ->
                            capitalise(subject)
                                    + " wanted to "
                                    + verb
                                    + " the "
                                    + noun
                                    + " "
                                    + pick(r, TIMES)
                                    + ".";
                };
        return capitalise(s);
    }

    private static Topic topic(
            String role, String nouns, String verbs, String adjs, String places) {
        return new Topic(
                role, words(nouns, " "), words(verbs, " "), words(adjs, " "), words(places, " "));
    }

    private static List<String> words(String list, String separator) {
        return List.of(list.split(separator));
    }

    private static String pick(SplittableRandom r, List<String> options) {
        return options.get(r.nextInt(options.size()));
    }

    private static String capitalise(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    private static String article(String word) {
        return "aeiou".indexOf(word.charAt(0)) >= 0 ? "an" : "a";
    }

    static String plural(String noun) {
        if (noun.contains(" ")) {
            int space = noun.lastIndexOf(' ');
            return noun.substring(0, space + 1) + plural(noun.substring(space + 1));
        }
        if (noun.endsWith("s")
                || noun.endsWith("x")
                || noun.endsWith("ch")
                || noun.endsWith("sh")) {
            return noun + "es";
        }
        if (noun.endsWith("y") && "aeiou".indexOf(noun.charAt(noun.length() - 2)) < 0) {
            return noun.substring(0, noun.length() - 1) + "ies";
        }
        if (noun.equals("knife")) {
            return "knives";
        }
        return noun + "s";
    }

    static String thirdPerson(String verb) {
        if (verb.endsWith("s")
                || verb.endsWith("x")
                || verb.endsWith("ch")
                || verb.endsWith("sh")) {
            return verb + "es";
        }
        if (verb.endsWith("y") && "aeiou".indexOf(verb.charAt(verb.length() - 2)) < 0) {
            return verb.substring(0, verb.length() - 1) + "ies";
        }
        return verb + "s";
    }

    static String past(String verb) {
        return switch (verb) {
            case "sell" -> "sold";
            case "buy" -> "bought";
            case "build" -> "built";
            case "cut" -> "cut";
            case "win" -> "won";
            case "lend" -> "lent";
            case "teach" -> "taught";
            case "hum" -> "hummed";
            case "plan" -> "planned";
            case "drive" -> "drove";
            case "sight" -> "sighted";
            default -> {
                if (verb.endsWith("e")) {
                    yield verb + "d";
                }
                if (verb.endsWith("y") && "aeiou".indexOf(verb.charAt(verb.length() - 2)) < 0) {
                    yield verb.substring(0, verb.length() - 1) + "ied";
                }
                yield verb + "ed";
            }
        };
    }
}
