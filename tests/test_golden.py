"""Golden numbers: a tiny pipeline, a fixed seed, 2 steps, a slice of the output compared to
stored values. An upgrade of the pinned torch or diffusers that changes the numbers fails
here (update the numbers only after looking at why they moved)."""

import numpy as np

# arrays[1, 6:9, 6:9, :] of the call below, recorded with torch 2.13.0 and diffusers 0.42.1.
EXPECTED_SLICE = [143, 119, 120, 168, 71, 102, 125, 145, 209, 213, 125, 255, 129, 195, 24, 135, 77, 101,
                  97, 83, 139, 133, 89, 193, 170, 131, 124]  # fmt: skip
EXPECTED_MEAN = 129.3255


def test_tiny_pipeline_output_matches_the_stored_slice(tiny_pipe):
    out = tiny_pipe(
        "sdss, spiral galaxy, {bar:1.2}",
        num_images=2,
        seed=0,
        steps=2,
        guidance_scale=3.0,
        sampler="dpmpp",
        tag_guidance=0.0,
        complete_tree=False,
    )  # fmt: skip  (as recorded: the weight 1.2 on the embedding only, the prompt as typed)
    assert out.arrays.shape == (2, 16, 16, 3)
    got = out.arrays[1, 6:9, 6:9, :].ravel().astype(int)
    assert np.abs(got - np.array(EXPECTED_SLICE)).max() <= 3, got.tolist()
    assert abs(out.arrays.mean() - EXPECTED_MEAN) < 0.5
