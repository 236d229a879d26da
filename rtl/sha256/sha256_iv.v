// SHA-256 initial hash value H(0) (FIPS 180-4 section 5.3.3): the one
// definition every engine that starts a hash from scratch uses.
`default_nettype none

module sha256_iv (
    output wire [255:0] iv  // H0 in [255:224] .. H7 in [31:0]
);
    assign iv = 256'h6a09e667_bb67ae85_3c6ef372_a54ff53a_510e527f_9b05688c_1f83d9ab_5be0cd19;
endmodule

`default_nettype wire
