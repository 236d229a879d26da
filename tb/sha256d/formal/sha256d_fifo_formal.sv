// Formal harness of the miner's result FIFO (rtl/sha256d/sha256d_fifo.v), for every legal FIFO_DEPTH.
// All free values are this module's inputs, so the same file runs in Verilator (--assert) when a
// counterexample is replayed. A reference queue (a shift register, written unlike the DUT's ring
// buffer) says what the FIFO must hold; the properties compare the DUT's ports with it:
//   full_exact      full is high exactly when DEPTH entries are held
//   rd_valid_exact  rd_valid is high exactly when an entry is held
//   head_in_order   rd_data is the oldest entry not yet read: no loss, no duplication, order kept
// and the inductive invariants (inv_*) that tie the DUT's ring buffer to the reference, without
// which k-induction cannot close (an idle FIFO with a wrong entry behind the head looks right at
// the ports forever). They read the DUT's registers through taps: Verilator by hierarchical
// reference, Yosys (which has none) by `connect` after flattening (the taps: of formal.yaml).
// Properties used: immediate assert/assume in always blocks, $past-free (a registered f_past_valid).
`default_nettype none

module sha256d_fifo_formal #(
    parameter FIFO_DEPTH = 8,
    parameter WIDTH      = 8
) (
    input wire             clk,
    input wire             rst,
    input wire             wr_en,
    input wire [WIDTH-1:0] wr_data,
    input wire             rd_ready
);
    wire             full;
    wire             rd_valid;
    wire [WIDTH-1:0] rd_data;

    sha256d_fifo #(.WIDTH(WIDTH), .DEPTH(FIFO_DEPTH)) dut (
        .clk(clk), .rst(rst), .wr_en(wr_en), .wr_data(wr_data), .full(full),
        .rd_valid(rd_valid), .rd_ready(rd_ready), .rd_data(rd_data)
    );

    localparam AW = (FIFO_DEPTH > 1) ? $clog2(FIFO_DEPTH) : 1;  // as in the DUT
    localparam CW = $clog2(FIFO_DEPTH + 1);

`ifdef YOSYS
    wire [AW:0]                  t_count;   // connected by the formal script
    wire [AW-1:0]                t_wr_ptr;
    wire [AW-1:0]                t_rd_ptr;
    wire [FIFO_DEPTH*WIDTH-1:0]  t_mem;
`else
    wire [AW:0]                  t_count  = dut.count;
    wire [AW-1:0]                t_wr_ptr = dut.wr_ptr;
    wire [AW-1:0]                t_rd_ptr = dut.rd_ptr;
    wire [FIFO_DEPTH*WIDTH-1:0]  t_mem;
    genvar g;
    for (g = 0; g < FIFO_DEPTH; g = g + 1) begin : g_tap
        assign t_mem[g*WIDTH +: WIDTH] = dut.mem[g];
    end
`endif
    localparam [CW-1:0] DEPTH_C = FIFO_DEPTH[CW-1:0];

    // Reference queue: q[0] is the oldest entry; a read shifts everything down by one.
    reg [WIDTH-1:0] q [0:FIFO_DEPTH-1];
    reg [CW-1:0]    n;
    wire ref_write = wr_en && (n != DEPTH_C);
    wire ref_read  = rd_ready && (n != {CW{1'b0}});
    integer i;
    always @(posedge clk) begin
        if (rst) begin
            n <= {CW{1'b0}};
        end else begin
            for (i = 0; i < FIFO_DEPTH; i = i + 1) begin
                if (ref_read) q[i] <= (i + 1 < FIFO_DEPTH) ? q[(i + 1) % FIFO_DEPTH] : q[i];
                // the new entry lands behind the n (or n - 1 after this read) held ones
                if (ref_write && i == n - (ref_read ? 1 : 0)) q[i] <= wr_data;
            end
            n <= n + (ref_write ? 1'b1 : 1'b0) - (ref_read ? 1'b1 : 1'b0);
        end
    end

    reg f_past_valid = 1'b0;
    always @(posedge clk) f_past_valid <= 1'b1;

    always @(*) begin
        if (!f_past_valid) assume (rst);
        if (f_past_valid && !rst) begin
            n_in_range:     assert (n <= DEPTH_C);
            full_exact:     assert (full == (n == DEPTH_C));
            rd_valid_exact: assert (rd_valid == (n != {CW{1'b0}}));
            if (rd_valid) head_in_order: assert (rd_data == q[0]);
            inv_count:  assert ({{(CW > AW + 1 ? CW - AW - 1 : 0){1'b0}}, t_count} == {{(AW + 1 > CW ? AW + 1 - CW : 0){1'b0}}, n});
            inv_ptrs:   assert (t_rd_ptr < FIFO_DEPTH && t_wr_ptr < FIFO_DEPTH);
            inv_wr_ptr: assert (t_wr_ptr == (t_rd_ptr + t_count) % FIFO_DEPTH);
        end
    end

    // Entry k of the reference is the DUT's word k places behind the read pointer.
    wire [FIFO_DEPTH-1:0] entry_ok;
    genvar k;
    for (k = 0; k < FIFO_DEPTH; k = k + 1) begin : g_inv
        wire [AW:0] slot = (t_rd_ptr + k) % FIFO_DEPTH;
        assign entry_ok[k] = !(k < n) || t_mem[slot * WIDTH +: WIDTH] == q[k];
    end
    always @(*) if (f_past_valid && !rst) inv_entries: assert (&entry_ok);
endmodule

`default_nettype wire
