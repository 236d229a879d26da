// One processing element of the KPU MAC array: an int32 accumulator plus one
// slot of the output (double) buffer.
//
// Every accepted operand beat adds a_c * b, where a_c = A - input_zp is already
// formed once per row by kpu_top (9-bit signed, exact) and b is int8. The first
// beat of a tile starts from the column's bias instead of the old accumulator,
// so the bias costs no extra adder or cycle. 9x8-bit signed products are at most
// 255*128 = 32,640 in magnitude; see kpu_top for the overflow bound.
//
// On the last beat of a tile the new sum goes straight into `res` (the output
// buffer slot), freeing the accumulator for the next tile on the very next
// cycle. While the tile drains, `res` shifts up one row per step (shift_in is
// the PE below), so kpu_top always reads row 0 and needs no row multiplexer.
`default_nettype none

module kpu_pe (
    input  wire               clk,

    input  wire               acc_en,   // operand beat accepted this cycle
    input  wire               first,    // ... and it is the first beat of a tile
    input  wire               load,     // ... and it is the last beat of a tile
    input  wire signed [8:0]  a_c,      // A[m, k] - input_zp
    input  wire signed [7:0]  b,        // B[k, n]
    input  wire        [31:0] bias,     // int32 bias of this column

    input  wire               shift,    // drain: take the result of the PE below
    input  wire        [31:0] shift_in,
    output wire        [31:0] res
);
    reg  [31:0] acc;
    reg  [31:0] result;

    wire signed [16:0] prod = a_c * b;  // exact: 9 + 8 bits
    wire        [31:0] base = first ? bias : acc;
    // Two's complement wrap on overflow, exactly like the model's wrap32.
    wire        [31:0] sum  = base + {{15{prod[16]}}, prod};

    assign res = result;

    // Datapath only, no reset: `first` overwrites acc before it is ever used
    // and kpu_top only reads res after a load.
    always @(posedge clk) begin
        if (acc_en) acc <= sum;
        if (load)       result <= sum;
        else if (shift) result <= shift_in;
    end
endmodule

`default_nettype wire
