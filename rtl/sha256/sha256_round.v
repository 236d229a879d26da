// One SHA-256 compression round (FIPS 180-4 section 6.2.2 step 3), purely
// combinational. The single definition of a round: the iterative core and the
// sha256d mining cores (iterative and unrolled) all instantiate this module.
// State words are packed a..h from the most significant end: state[255:224] = a.
`default_nettype none

module sha256_round (
    input  wire [255:0] state_in,
    input  wire [31:0]  k,
    input  wire [31:0]  w,
    output wire [255:0] state_out
);
    wire [31:0] a = state_in[255:224];
    wire [31:0] b = state_in[223:192];
    wire [31:0] c = state_in[191:160];
    wire [31:0] d = state_in[159:128];
    wire [31:0] e = state_in[127:96];
    wire [31:0] f = state_in[95:64];
    wire [31:0] g = state_in[63:32];
    wire [31:0] h = state_in[31:0];

    wire [31:0] big_sigma0 = {a[1:0], a[31:2]} ^ {a[12:0], a[31:13]} ^ {a[21:0], a[31:22]};
    wire [31:0] big_sigma1 = {e[5:0], e[31:6]} ^ {e[10:0], e[31:11]} ^ {e[24:0], e[31:25]};
    wire [31:0] choose     = (e & f) ^ (~e & g);
    wire [31:0] majority   = (a & b) ^ (a & c) ^ (b & c);

    wire [31:0] t1 = h + big_sigma1 + choose + k + w;
    wire [31:0] t2 = big_sigma0 + majority;

    assign state_out = {t1 + t2, a, b, c, d + t1, e, f, g};
endmodule

`default_nettype wire
