package dev.lmspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.data.BadInputException;
import org.junit.jupiter.api.Test;

/** The recorded train config: the inner learning-rate rule, and configs recorded before it. */
class TrainConfigTest {
    /** A trainer_state.json "config" as a run recorded it before --inner-lr-scaling existed. */
    static ObjectNode recorded() throws Exception {
        return (ObjectNode)
                new ObjectMapper()
                        .readTree(
                                "{\"data\":\"/d\",\"output\":\"/o\",\"model\":\"bert-mini\","
                                        + "\"init_from\":null,\"objective\":null,\"workers\":2,"
                                        + "\"rounds\":8,\"local_steps\":50,\"batch_size\":16,"
                                        + "\"grad_accum\":1,\"max_tokens\":0,\"lr\":0.001,"
                                        + "\"lr_schedule\":\"linear\",\"warmup_steps\":50,"
                                        + "\"weight_decay\":0.01,\"clip_norm\":1.0,\"seed\":42,"
                                        + "\"outer_optimizer\":\"average\",\"outer_lr\":0.7,"
                                        + "\"outer_momentum\":0.5,\"loss\":\"mle\","
                                        + "\"precision\":\"fp32\",\"dynamic_masking\":false,"
                                        + "\"checkpoint_every\":0,\"keep_checkpoints\":0,"
                                        + "\"eval_every\":5,\"eval_batch_size\":32}");
    }

    @Test
    void aConfigRecordedBeforeTheRuleKeepsItsInnerRate() throws Exception {
        TrainConfig old = TrainConfig.fromJson(recorded());
        assertEquals("none", old.innerLrScaling());
        assertEquals(1.0, old.innerLrScale());
        assertEquals("none", old.toJson().path("inner_lr_scaling").asText());
    }

    @Test
    void autoScalesAveragingBySquareRootOfTheWorkersAndLeavesNesterov() throws Exception {
        ObjectNode c = recorded();
        c.put("inner_lr_scaling", "auto");
        c.put("workers", 4);
        assertEquals(2.0, TrainConfig.fromJson(c).innerLrScale());
        c.put("workers", 1);
        assertEquals(1.0, TrainConfig.fromJson(c).innerLrScale());
        c.put("workers", 4);
        c.put("outer_optimizer", "nesterov");
        assertEquals(1.0, TrainConfig.fromJson(c).innerLrScale());
        c.put("inner_lr_scaling", "sqrt");
        assertEquals(2.0, TrainConfig.fromJson(c).innerLrScale());
        c.put("inner_lr_scaling", "none");
        c.put("outer_optimizer", "average");
        assertEquals(1.0, TrainConfig.fromJson(c).innerLrScale());
    }

    @Test
    void anUnknownRuleIsRefusedNamingTheFlag() throws Exception {
        ObjectNode c = recorded();
        c.put("inner_lr_scaling", "linear");
        Exception e =
                assertThrows(
                        Exception.class, () -> TrainConfig.fromJson(c), "linear is not a rule");
        Throwable t = e;
        while (t != null && !(t instanceof BadInputException)) {
            t = t.getCause();
        }
        assertTrue(t != null, "a BadInputException: " + e);
        assertEquals("unknown --inner-lr-scaling 'linear'; use auto, sqrt or none", t.getMessage());
    }
}
