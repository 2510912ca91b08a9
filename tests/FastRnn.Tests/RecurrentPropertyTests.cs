// Design section 4's properties for each cell, at least 100 FsCheck cases each (see RecurrentProperties).
using FastRnn.Testing;
using FsCheck.Xunit;

namespace FastRnn.Tests;

public class ElmanPropertyTests
{
    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Forward_and_every_gradient_match_the_reference(ElmanCase c) => RecurrentProperties.MatchesReference(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Reference_gradients_match_centered_finite_differences(ElmanCase c) => RecurrentProperties.ReferenceMatchesFiniteDifferences(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Stepping_with_carried_state_equals_the_whole_sequence_call(ElmanCase c) => RecurrentProperties.SteppingEqualsWholeSequence(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Padding_is_never_read_even_when_it_is_NaN(ElmanCase c) => RecurrentProperties.PaddingIsNeverRead(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Reverse_direction_equals_forward_on_each_sequence_reversed_within_its_length(ElmanCase c) => RecurrentProperties.ReverseEqualsForwardOnReversedSequences(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Truncation_window_of_at_least_T_equals_full_BPTT(ElmanCase c) => RecurrentProperties.LongTruncationWindowIsFullBptt(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Truncation_window_k_equals_chunked_calls_with_carried_state(ElmanCase c) => RecurrentProperties.TruncationEqualsChunkedCalls(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Outputs_prefilled_with_NaN_are_fully_written_and_guards_untouched(ElmanCase c) => RecurrentProperties.OutputsAreFullyWrittenWithinTheirBounds(RnnTestCase.From(c));
}

public class LstmPropertyTests
{
    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Forward_and_every_gradient_match_the_reference(LstmCase c) => RecurrentProperties.MatchesReference(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Reference_gradients_match_centered_finite_differences(LstmCase c) => RecurrentProperties.ReferenceMatchesFiniteDifferences(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Stepping_with_carried_state_equals_the_whole_sequence_call(LstmCase c) => RecurrentProperties.SteppingEqualsWholeSequence(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Padding_is_never_read_even_when_it_is_NaN(LstmCase c) => RecurrentProperties.PaddingIsNeverRead(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Reverse_direction_equals_forward_on_each_sequence_reversed_within_its_length(LstmCase c) => RecurrentProperties.ReverseEqualsForwardOnReversedSequences(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Truncation_window_of_at_least_T_equals_full_BPTT(LstmCase c) => RecurrentProperties.LongTruncationWindowIsFullBptt(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Truncation_window_k_equals_chunked_calls_with_carried_state(LstmCase c) => RecurrentProperties.TruncationEqualsChunkedCalls(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Outputs_prefilled_with_NaN_are_fully_written_and_guards_untouched(LstmCase c) => RecurrentProperties.OutputsAreFullyWrittenWithinTheirBounds(RnnTestCase.From(c));
}

public class GruPropertyTests
{
    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Forward_and_every_gradient_match_the_reference(GruCase c) => RecurrentProperties.MatchesReference(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Reference_gradients_match_centered_finite_differences(GruCase c) => RecurrentProperties.ReferenceMatchesFiniteDifferences(RnnTestCase.From(c));

    // T = 12, B = 5, I = 31, H = 27: with eps = 1e-5 its dX check failed on rounding noise (3.3e-9 absolute on a
    // directional derivative of 7.7e-6), once in CI; kept as a fixed case.
    [Property(MaxTest = 1, Arbitrary = [typeof(RnnGenerators)], Replay = "(15334819387057081045,1535249560639953753,26)")]
    public void Reference_gradients_match_finite_differences_where_rounding_noise_dominated(GruCase c) => RecurrentProperties.ReferenceMatchesFiniteDifferences(RnnTestCase.From(c));

    // T = 12, B = 2, I = 8, H = 2, reverse: a db_ih component of 1.25e-4 with a third derivative of 1.7 failed on the
    // 3-point stencil's truncation error (2.8e-9 at eps = 1e-4), once in CI; kept as a fixed case.
    [Property(MaxTest = 1, Arbitrary = [typeof(RnnGenerators)], Replay = "(5976953764724778960,17542694636431890127,88)")]
    public void Reference_gradients_match_finite_differences_where_truncation_dominated(GruCase c) => RecurrentProperties.ReferenceMatchesFiniteDifferences(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Stepping_with_carried_state_equals_the_whole_sequence_call(GruCase c) => RecurrentProperties.SteppingEqualsWholeSequence(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Padding_is_never_read_even_when_it_is_NaN(GruCase c) => RecurrentProperties.PaddingIsNeverRead(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Reverse_direction_equals_forward_on_each_sequence_reversed_within_its_length(GruCase c) => RecurrentProperties.ReverseEqualsForwardOnReversedSequences(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Truncation_window_of_at_least_T_equals_full_BPTT(GruCase c) => RecurrentProperties.LongTruncationWindowIsFullBptt(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Truncation_window_k_equals_chunked_calls_with_carried_state(GruCase c) => RecurrentProperties.TruncationEqualsChunkedCalls(RnnTestCase.From(c));

    [Property(MaxTest = 100, Arbitrary = [typeof(RnnGenerators)])]
    public void Outputs_prefilled_with_NaN_are_fully_written_and_guards_untouched(GruCase c) => RecurrentProperties.OutputsAreFullyWrittenWithinTheirBounds(RnnTestCase.From(c));
}
