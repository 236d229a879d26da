// Result FIFO, first-word fall-through: rd_data is valid whenever rd_valid.
// The writer must not write when full (the miner stalls hashing instead);
// a write while full is ignored, never overwrites. Any DEPTH >= 1.
`default_nettype none

module sha256d_fifo #(
    parameter WIDTH = 42,
    parameter DEPTH = 8
) (
    input  wire             clk,
    input  wire             rst,      // synchronous, active high: empties the FIFO

    input  wire             wr_en,
    input  wire [WIDTH-1:0] wr_data,
    output wire             full,

    output wire             rd_valid,
    input  wire             rd_ready,
    output wire [WIDTH-1:0] rd_data
);
    localparam AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    // Sized copies of DEPTH (part-selects keep the widths exact for lint).
    localparam [AW-1:0] LAST       = DEPTH[AW-1:0] - 1'b1;
    localparam [AW:0]   COUNT_FULL = DEPTH[AW:0];

    reg [WIDTH-1:0] mem [0:DEPTH-1];
    reg [AW-1:0]    wr_ptr;
    reg [AW-1:0]    rd_ptr;
    reg [AW:0]      count;

    wire do_write = wr_en && !full;
    wire do_read  = rd_valid && rd_ready;

    assign full     = (count == COUNT_FULL);
    assign rd_valid = (count != {(AW+1){1'b0}});
    assign rd_data  = mem[rd_ptr];

    always @(posedge clk) begin
        if (rst) begin
            wr_ptr <= {AW{1'b0}};
            rd_ptr <= {AW{1'b0}};
            count  <= {(AW+1){1'b0}};
        end else begin
            if (do_write) wr_ptr <= (wr_ptr == LAST) ? {AW{1'b0}} : wr_ptr + 1'b1;
            if (do_read)  rd_ptr <= (rd_ptr == LAST) ? {AW{1'b0}} : rd_ptr + 1'b1;
            if (do_write && !do_read)      count <= count + 1'b1;
            else if (do_read && !do_write) count <= count - 1'b1;
        end
    end

    // Storage needs no reset: count says which entries are live.
    always @(posedge clk) begin
        if (do_write) mem[wr_ptr] <= wr_data;
    end
endmodule

`default_nettype wire
